"""Italian-looking text for the scale generator: titles, bodies and comments built from
word lists, reproducible from a `random.Random`. About 7 % of proposals mention a
bicycle (`bicicletta`, `biciclette`, `ciclabile`), so `q=bicicletta` has tens of
thousands of matches in the hot table at large scale."""

import random

SUBJECTS = [
    "Una nuova piazza",
    "Più alberi",
    "Un centro giovani",
    "La biblioteca aperta",
    "Orti urbani",
    "Il mercato contadino",
    "Un parco giochi inclusivo",
    "Spazi di coworking",
    "La scuola di musica",
    "Il trasporto notturno",
    "Fontanelle pubbliche",
    "Panchine e ombra",
    "Illuminazione a LED",
    "Sportello per l'impiego",
    "Un teatro di quartiere",
    "Raccolta differenziata porta a porta",
    "Wi-Fi gratuito",
    "Un'area cani",
    "Laboratori digitali",
    "Il lungomare pedonale",
]
BIKE_SUBJECTS = [
    "Una pista ciclabile",
    "Parcheggi per biciclette",
    "Bicicletta condivisa",
    "Corsi di riparazione della bicicletta",
]
PLACES = [
    "nel centro storico",
    "vicino alla stazione",
    "al quartiere San Paolo",
    "a Japigia",
    "sul lungomare",
    "davanti alle scuole",
    "nelle periferie",
    "al porto",
    "in ogni comune dell'area metropolitana",
    "accanto al mercato",
    "nel parco comunale",
    "lungo la statale",
]
PURPOSES = [
    "per i giovani",
    "per gli anziani",
    "per le famiglie",
    "per chi studia",
    "per chi lavora di notte",
    "per tutti",
    "per le associazioni",
    "per i turisti",
]
SENTENCES = [
    "Proponiamo di coinvolgere le associazioni del territorio fin dall'inizio.",
    "Il costo stimato è contenuto e si può finanziare con fondi europei.",
    "Molti cittadini lo chiedono da anni durante le assemblee di quartiere.",
    "Serve una manutenzione regolare affidata a cooperative locali.",
    "La proposta riduce il traffico e migliora la qualità dell'aria.",
    "Si potrebbe sperimentare per sei mesi e poi valutare i risultati.",
    "I ragazzi delle scuole superiori hanno già raccolto firme.",
    "Bisogna garantire l'accessibilità alle persone con disabilità.",
    "Il progetto crea lavoro per i giovani del territorio.",
    "Chiediamo un tavolo tecnico con gli uffici comunali.",
    "L'area oggi è abbandonata e poco sicura la sera.",
    "Va collegata con le linee di autobus esistenti.",
]
BIKE_SENTENCES = [
    "Andare in bicicletta a scuola deve diventare sicuro.",
    "Le biciclette rubate sono un problema: servono rastrelliere sorvegliate.",
    "Una ciclabile continua collegherebbe i quartieri al centro.",
]
COMMENTS = [
    "Sono d'accordo, ne abbiamo bisogno.",
    "Bella idea, ma chi paga la manutenzione?",
    "Nel mio quartiere servirebbe ancora di più.",
    "Non sono convinto: ci sono priorità più urgenti.",
    "Propongo di partire con una sperimentazione.",
    "Ottima proposta, la sostengo.",
    "Attenzione ai costi, servono numeri precisi.",
    "Coinvolgiamo anche le scuole!",
    "Se ne parlava già all'ultima assemblea.",
    "Serve un calendario dei lavori chiaro.",
]
FIRST_NAMES = [
    "Giulia",
    "Marco",
    "Chiara",
    "Luca",
    "Francesca",
    "Giuseppe",
    "Sara",
    "Antonio",
    "Martina",
    "Nicola",
    "Alessia",
    "Vito",
    "Federica",
    "Michele",
    "Ilaria",
    "Domenico",
    "Valentina",
    "Francesco",
    "Rosa",
    "Pasquale",
]
LAST_NAMES = [
    "Rossi",
    "De Santis",
    "Lorusso",
    "Lopez",
    "Ferrara",
    "Colella",
    "Amoruso",
    "Caputo",
    "Losito",
    "Morea",
    "Palmisano",
    "Ricci",
    "Esposito",
    "Romano",
    "Giannini",
    "Laterza",
]
# The 41 comuni of the Città metropolitana di Bari.
COMUNI = [
    ("Acquaviva delle Fonti", "072001"),
    ("Adelfia", "072002"),
    ("Alberobello", "072003"),
    ("Altamura", "072004"),
    ("Bari", "072006"),
    ("Binetto", "072008"),
    ("Bitetto", "072010"),
    ("Bitonto", "072011"),
    ("Bitritto", "072012"),
    ("Capurso", "072014"),
    ("Casamassima", "072015"),
    ("Cassano delle Murge", "072016"),
    ("Castellana Grotte", "072017"),
    ("Cellamare", "072018"),
    ("Conversano", "072019"),
    ("Corato", "072020"),
    ("Gioia del Colle", "072021"),
    ("Giovinazzo", "072022"),
    ("Gravina in Puglia", "072023"),
    ("Grumo Appula", "072024"),
    ("Locorotondo", "072025"),
    ("Modugno", "072027"),
    ("Mola di Bari", "072028"),
    ("Molfetta", "072029"),
    ("Monopoli", "072030"),
    ("Noci", "072031"),
    ("Noicattaro", "072032"),
    ("Palo del Colle", "072033"),
    ("Poggiorsini", "072034"),
    ("Polignano a Mare", "072035"),
    ("Putignano", "072036"),
    ("Rutigliano", "072037"),
    ("Ruvo di Puglia", "072038"),
    ("Sammichele di Bari", "072039"),
    ("Sannicandro di Bari", "072040"),
    ("Santeramo in Colle", "072041"),
    ("Terlizzi", "072043"),
    ("Toritto", "072044"),
    ("Triggiano", "072045"),
    ("Turi", "072046"),
    ("Valenzano", "072047"),
]
AXES = ["Giovani e talenti", "Ambiente e mobilità", "Lavoro e impresa", "Comunità e cultura"]
MISSIONS = ["Spazi", "Servizi", "Partecipazione"]
OBJECTIVES = ["Breve termine", "Medio termine", "Lungo termine"]


def proposal_text(rng: random.Random) -> tuple[str, str]:
    """(title, body) of one proposal."""
    bike = rng.random() < 0.07
    subject = rng.choice(BIKE_SUBJECTS if bike else SUBJECTS)
    title = f"{subject} {rng.choice(PLACES)} {rng.choice(PURPOSES)}"
    sentences = rng.sample(SENTENCES, rng.randint(2, 4))
    if bike:
        sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(BIKE_SENTENCES))
    return title[:150], " ".join(sentences)


def comment_text(rng: random.Random) -> str:
    return rng.choice(COMMENTS)


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
