"""The registry of open datasets: what each one is, in the catalog and on the wire."""

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.organizations import Organization
from app.services.open_data import comments, computed, conversations, tabular
from app.services.open_data.cells import Cells
from app.services.open_data.tabular import Chunks

# EU vocabularies (DCAT-AP, DCAT-AP_IT): data themes and update frequencies.
THEMES = "http://publications.europa.eu/resource/authority/data-theme/"
FREQUENCIES = "http://publications.europa.eu/resource/authority/frequency/"
RowSource = Callable[[AsyncSession, Organization, Cells], Chunks]


@dataclass(frozen=True)
class Dataset:
    slug: str
    title: str  # Italian: the catalog's language
    description: str
    themes: tuple[str, ...]  # codes of the EU data-theme vocabulary
    frequency: str  # a code of the EU frequency vocabulary
    keywords: tuple[str, ...]
    columns: tuple[str, ...]
    rows: RowSource


_ALL = (
    Dataset(
        "proposals",
        "Proposte dei cittadini",
        "Le proposte pubblicate ai tavoli di partecipazione pubblici: testo, stato, "
        "risposta dell'amministrazione, comune, obiettivi del piano collegati, numero di "
        "sostegni e di commenti. Senza dati personali.",
        ("GOVE", "SOCI"),
        "UPDATE_CONT",
        ("partecipazione", "proposte", "piano strategico"),
        tabular.PROPOSAL_COLUMNS,
        tabular.streamed(tabular.proposals_statement),
    ),
    Dataset(
        "comments",
        "Commenti",
        "I commenti visibili su proposte, incontri, obiettivi, sondaggi e progetti: testo, "
        "posizione (a favore, contro, neutrale) e voti ricevuti. Senza autori.",
        ("GOVE", "SOCI"),
        "UPDATE_CONT",
        ("partecipazione", "commenti", "dibattito"),
        comments.COMMENT_COLUMNS,
        tabular.streamed(comments.comments_statement),
    ),
    Dataset(
        "meetings",
        "Incontri pubblici",
        "Gli incontri dei tavoli pubblici: data, luogo, stato, iscritti, lista d'attesa e "
        "presenze registrate (solo i numeri), verbale pubblicato.",
        ("GOVE", "SOCI"),
        "IRREG",
        ("partecipazione", "incontri", "verbali"),
        tabular.MEETING_COLUMNS,
        tabular.streamed(tabular.meetings_statement, tabular.shape_meeting),
    ),
    Dataset(
        "plan-nodes",
        "Struttura e avanzamento dei piani",
        "Assi, missioni, obiettivi e azioni dei piani pubblicati, con l'avanzamento (0-100 %) "
        "calcolato dagli indicatori.",
        ("GOVE", "REGI"),
        "IRREG",
        ("piano strategico", "monitoraggio", "rendicontazione"),
        computed.PLAN_NODE_COLUMNS,
        computed.plan_node_rows,
    ),
    Dataset(
        "indicators",
        "Indicatori dei piani",
        "Gli indicatori degli obiettivi dei piani pubblicati: valore di partenza e "
        "obiettivo, ultima misura, avanzamento.",
        ("GOVE", "REGI"),
        "IRREG",
        ("indicatori", "monitoraggio", "piano strategico"),
        computed.INDICATOR_COLUMNS,
        computed.indicator_rows,
    ),
    Dataset(
        "measurements",
        "Misure degli indicatori",
        "Ogni misura registrata degli indicatori dei piani pubblicati, con data e fonte.",
        ("GOVE", "REGI"),
        "IRREG",
        ("indicatori", "misure", "monitoraggio"),
        tabular.MEASUREMENT_COLUMNS,
        tabular.streamed(tabular.measurements_statement),
    ),
    Dataset(
        "poll-results",
        "Risultati delle votazioni",
        "I risultati delle votazioni chiuse dei tavoli pubblici: voti per opzione e "
        "numero di votanti.",
        ("GOVE", "SOCI"),
        "IRREG",
        ("votazioni", "sondaggi", "partecipazione"),
        tabular.POLL_RESULT_COLUMNS,
        tabular.streamed(tabular.poll_results_statement, tabular.shape_poll_result),
    ),
    Dataset(
        "budget-results",
        "Risultati del bilancio partecipativo",
        "Per ogni progetto dei bilanci partecipativi con risultati pubblicati: area, costo "
        "(in centesimi di euro), voti ricevuti e se è finanziato.",
        ("GOVE", "ECON"),
        "IRREG",
        ("bilancio partecipativo", "progetti", "votazioni"),
        computed.BUDGET_RESULT_COLUMNS,
        computed.budget_result_rows,
    ),
    Dataset(
        "survey-results",
        "Risultati dei questionari",
        "I risultati aggregati dei questionari chiusi con risultati pubblici: conteggi per "
        "opzione, medie e distribuzioni delle scale, NPS. Mai le risposte in testo libero.",
        ("GOVE", "SOCI"),
        "IRREG",
        ("questionari", "consultazione", "partecipazione"),
        computed.SURVEY_RESULT_COLUMNS,
        computed.survey_result_rows,
    ),
    Dataset(
        "conversation-statements",
        "Affermazioni delle conversazioni",
        "Le affermazioni visibili delle conversazioni dei tavoli pubblici, con il numero di "
        "voti d'accordo, contrari e astenuti. Senza autori.",
        ("GOVE", "SOCI"),
        "UPDATE_CONT",
        ("partecipazione", "conversazioni", "mappe delle opinioni"),
        conversations.STATEMENT_COLUMNS,
        conversations.statement_rows,
    ),
    Dataset(
        "conversation-votes",
        "Voti delle conversazioni (matrice anonima)",
        "Ogni voto (accordo, contrario, astenuto) sulle affermazioni visibili delle "
        "conversazioni dei tavoli pubblici: il partecipante è uno pseudonimo valido solo "
        "in quella conversazione, senza data. La matrice da cui si calcola la mappa delle "
        "opinioni.",
        ("GOVE", "SOCI"),
        "UPDATE_CONT",
        ("partecipazione", "conversazioni", "mappe delle opinioni"),
        conversations.VOTE_COLUMNS,
        conversations.vote_rows,
    ),
)

DATASETS: dict[str, Dataset] = {d.slug: d for d in _ALL}
