"""Demo "ascolto dei cittadini" for Bari: La Spezia-style service categories (reclamo,
suggerimento, segnalazione: strade, illuminazione, verde, rifiuti) with an Open311 key
for a municipal app, and an anonymous customer-satisfaction survey with a few answers.

Everything goes through the services, as the API would. Idempotent: existing service
codes, the key (by label) and the survey (by title) are left alone.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.organizations import Organization
from app.models.service_requests import ApiKeyCreate, Open311ApiKey, Service, ServiceCreate
from app.models.surveys import ResponseCreate, Survey, SurveyCreate
from app.services.accounts.people import find_user_by_email
from app.services.service_requests.api_keys import issue_key
from app.services.service_requests.catalog import create_service
from app.services.surveys.responses import submit_response
from app.services.surveys.surveys import create_survey

ORG = "cm-bari"
ADMIN = "admin.bari@consulta.demo"
RESPONDENTS = ("giulia@consulta.demo", "admin@consulta.demo")
KEY_LABEL = "App municipale (demo)"
SURVEY_TITLE = "Soddisfazione dei servizi metropolitani 2026"

_SEVERITY = {
    "code": "gravita",
    "datatype": "singlevaluelist",
    "required": True,
    "order": 1,
    "description": "Quanto è urgente?",
    "values": [
        {"key": "bassa", "name": "Bassa"},
        {"key": "media", "name": "Media"},
        {"key": "alta", "name": "Alta: pericolo per le persone"},
    ],
}


def _report(code: str, name: str, description: str, keywords: list[str]) -> dict[str, Any]:
    return {
        "service_code": f"segnalazione-{code}",
        "service_name": f"Segnalazione: {name}",
        "description": description,
        "group": "Segnalazioni",
        "keywords": keywords,
        "location_required": True,
        "attributes": [_SEVERITY],
    }


SERVICES: tuple[dict[str, Any], ...] = (
    {
        "service_code": "reclamo",
        "service_name": "Reclamo",
        "description": "Un disservizio o un comportamento scorretto dell'amministrazione.",
        "group": "Reclami e suggerimenti",
        "type": "batch",
        "keywords": ["reclamo", "disservizio"],
        "attributes": [
            {
                "code": "ufficio",
                "datatype": "string",
                "order": 1,
                "description": "Ufficio o servizio interessato",
            },
            {
                "code": "data_fatto",
                "datatype": "datetime",
                "order": 2,
                "description": "Quando è successo",
            },
        ],
    },
    {
        "service_code": "suggerimento",
        "service_name": "Suggerimento",
        "description": "Una proposta per migliorare un servizio.",
        "group": "Reclami e suggerimenti",
        "type": "batch",
        "keywords": ["proposta", "miglioramento"],
        "expected_days": 60,
    },
    _report("strade", "strade", "Buche, marciapiedi, segnaletica stradale.", ["buca", "asfalto"]),
    _report(
        "illuminazione", "illuminazione", "Lampioni spenti o danneggiati.", ["lampione", "luce"]
    ),
    _report("verde", "verde pubblico", "Alberi, aiuole, parchi e giardini.", ["alberi", "parco"]),
    _report("rifiuti", "rifiuti", "Rifiuti abbandonati, cassonetti pieni o rotti.", ["cassonetto"]),
)


def _survey() -> SurveyCreate:
    scale = {"1": {"it": "Per nulla soddisfatto"}, "5": {"it": "Molto soddisfatto"}}
    return SurveyCreate.model_validate(
        {
            "title": {"it": SURVEY_TITLE, "en": "Metropolitan services satisfaction 2026"},
            "description": {
                "it": "Indagine di customer satisfaction per definire gli standard di qualità "
                "dei servizi. Le risposte sono anonime."
            },
            "closes_at": (datetime.now(UTC) + timedelta(days=60)).isoformat(),
            "anonymous": True,
            "audience": "public",
            "results_public": True,
            "questions": [
                {
                    "kind": "single",
                    "text": {"it": "Quale servizio hai usato più spesso?"},
                    "required": True,
                    "options": [
                        {"it": "Trasporto pubblico"},
                        {"it": "Sportello al cittadino"},
                        {"it": "Raccolta rifiuti"},
                        {"it": "Biblioteche"},
                    ],
                },
                {
                    "kind": "scale",
                    "text": {"it": "Quanto sei soddisfatto del servizio?"},
                    "required": True,
                    "labels": scale,
                },
                {
                    "kind": "matrix",
                    "text": {"it": "Valuta questi aspetti"},
                    "rows": [{"it": "Cortesia"}, {"it": "Tempi di risposta"}, {"it": "Chiarezza"}],
                    "labels": scale,
                },
                {
                    "kind": "nps",
                    "text": {"it": "Quanto consiglieresti il servizio a un amico?"},
                    "required": True,
                },
                {
                    "kind": "multiple",
                    "text": {"it": "Cosa miglioreresti?"},
                    "options": [{"it": "Orari"}, {"it": "Servizi online"}, {"it": "Accessibilità"}],
                    "max_choices": 2,
                },
                {
                    "kind": "text",
                    "text": {"it": "Suggerimenti liberi"},
                    "max_length": 1000,
                },
            ],
        }
    )


def _answers(survey: Any, nps: int, scale: int, text: str) -> ResponseCreate:
    q = {item.kind: item for item in survey.questions}
    return ResponseCreate.model_validate(
        {
            "answers": [
                {"question_id": q["single"].id, "option_ids": [q["single"].options[0].id]},
                {"question_id": q["scale"].id, "value": scale},
                {"question_id": q["nps"].id, "value": nps},
                {"question_id": q["text"].id, "text": text},
            ]
        }
    )


async def seed_demo_listening(session: AsyncSession) -> list[str]:
    org = (
        await session.exec(select(Organization).where(col(Organization.slug) == ORG))
    ).one_or_none()
    admin = await find_user_by_email(session, ADMIN)
    if org is None or admin is None:
        return []
    report = []
    existing = set(
        (
            await session.exec(
                select(Service.service_code).where(col(Service.organization_id) == org.id)
            )
        ).all()
    )
    added = 0
    for spec in SERVICES:
        if spec["service_code"] not in existing:
            await create_service(session, admin, ORG, ServiceCreate.model_validate(spec))
            added += 1
    if added:
        report.append(f"open311 services {ORG}: {added} added")
    has_key = (
        await session.exec(
            select(Open311ApiKey.id).where(
                col(Open311ApiKey.organization_id) == org.id, col(Open311ApiKey.label) == KEY_LABEL
            )
        )
    ).first()
    if has_key is None:
        key = await issue_key(session, admin, ORG, ApiKeyCreate(label=KEY_LABEL))
        report.append(f"open311 api_key for {ORG} (shown once): {key.api_key}")
    report += await _seed_survey(session, admin, org)
    return report


async def _seed_survey(session: AsyncSession, admin: User, org: Organization) -> list[str]:
    titles = (
        await session.exec(select(Survey.title).where(col(Survey.organization_id) == org.id))
    ).all()
    if any(t.get("it") == SURVEY_TITLE for t in titles):
        return []
    survey = await create_survey(session, admin, ORG, _survey())
    answered = 0
    for email, (nps, scale, text) in zip(
        RESPONDENTS,
        ((9, 4, "Più corse serali degli autobus."), (6, 3, "Sportelli aperti anche il sabato.")),
        strict=True,
    ):
        person = await find_user_by_email(session, email)
        if person is not None:
            await submit_response(session, person, survey.id, _answers(survey, nps, scale, text))
            answered += 1
    return [f"survey {ORG} '{SURVEY_TITLE}': created, {answered} responses"]
