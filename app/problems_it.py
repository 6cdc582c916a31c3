"""Problems in Italian: with `Accept-Language: it`, a problem's `title` is the Italian
title of its `code` (`app/error_titles_it.py`, one per `ErrorCode`) and its `detail` is
translated: the common details word for word (`DETAILS_IT`), the ones that embed a
number by pattern (`_PATTERNS_IT`), and any other detail without data (no digit, quote
or backtick) becomes the Italian title. A detail that embeds data and has no pattern
stays in English. Field errors (`errors[].msg`) stay in English; their `code` is the
machine's answer. `app/conventions.py` applies it to every problem and sets
`Content-Language`.
"""

import json
import re
from collections.abc import Callable

from app.error_codes import ErrorCode
from app.error_titles_it import TITLES_IT

SUPPORTED = ("en", "it")
DEFAULT = "en"

DETAILS_IT: dict[str, str] = {
    "No resource at this address.": "Nessuna risorsa a questo indirizzo.",
    "The access token is invalid or expired.": "Il token di accesso non è valido o è scaduto.",
    "Authentication required": "Autenticazione richiesta.",
    "This sign-in has ended; sign in again.": "Questo accesso è terminato; accedi di nuovo.",
    "The access token has been revoked.": "Il token di accesso è stato revocato.",
    "This account no longer exists.": "Questo account non esiste più.",
    "Sign in or send a client token to do this.": (
        "Accedi o invia il token di un client per farlo."
    ),
    "Something went wrong on our side. The request id identifies it in our logs.": (
        "Qualcosa è andato storto da parte nostra. L'identificativo della richiesta "
        "lo individua nei nostri log."
    ),
    "The service cannot reach its database right now; try again in a few seconds.": (
        "Il servizio non raggiunge il suo database in questo momento; riprova tra qualche secondo."
    ),
    "The request contains a NUL character (U+0000), which is not accepted.": (
        "La richiesta contiene un carattere NUL (U+0000), che non è accettato."
    ),
    "The request has 1 invalid field.": "La richiesta ha 1 campo non valido.",
    "The document changed since you read it; fetch it again and reapply your edit.": (
        "Il documento è cambiato dopo la tua lettura; rileggilo e riapplica la modifica."
    ),
    "This table is archived.": "Questo tavolo è archiviato.",
    "This proposal was withdrawn.": "Questa proposta è stata ritirata.",
    "No budgeting process with this id.": "Nessun processo di bilancio con questo id.",
    "No participation table with this id.": "Nessun tavolo di partecipazione con questo id.",
    "This table is not accepting new members.": "Questo tavolo non accetta nuovi membri.",
    "This meeting was cancelled.": "Questo incontro è stato annullato.",
    "This meeting is cancelled.": "Questo incontro è annullato.",
    "You have already voted in this poll.": "Hai già votato in questo sondaggio.",
    "You have already reported this.": "Hai già segnalato questo contenuto.",
    "You have already answered this survey.": "Hai già risposto a questo questionario.",
    "You cannot vote on your own comment.": "Non puoi votare il tuo commento.",
    "Too many wrong passwords; try again later.": "Troppe password errate; riprova più tardi.",
    "This poll is not open yet.": "Questo sondaggio non è ancora aperto.",
    "This poll has closed.": "Questo sondaggio è chiuso.",
    "This survey is not open yet.": "Questo questionario non è ancora aperto.",
    "This table does not accept proposals now.": "Questo tavolo ora non accetta proposte.",
}

_PATTERNS_IT: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"^The request has (\d+) invalid fields\.$"),
        lambda m: f"La richiesta ha {m.group(1)} campi non validi.",
    ),
    (
        re.compile(r"^The request body exceeds (\d+) bytes\.$"),
        lambda m: f"Il corpo della richiesta supera {m.group(1)} byte.",
    ),
    (
        re.compile(r"^This resource does not accept ([A-Z]+); it accepts ([A-Z, ]+)\.$"),
        lambda m: f"Questa risorsa non accetta {m.group(1)}; accetta {m.group(2)}.",
    ),
    (
        re.compile(r"^Too many requests in a short time; try again in (\d+) s\.$"),
        lambda m: f"Troppe richieste in poco tempo; riprova tra {m.group(1)} s.",
    ),
    (
        re.compile(r"^Too many [a-z ]+ in a short time; try again in (\d+) s\.$"),
        lambda m: f"Troppe operazioni di questo tipo in poco tempo; riprova tra {m.group(1)} s.",
    ),
]
_CODES: dict[str, ErrorCode] = {code.value: code for code in ErrorCode}
_HAS_DATA = re.compile(r"[\d\"'`]")


def negotiate_language(accept_language: str) -> str:
    """The supported language the client prefers (RFC 9110 weights), else English."""
    best, best_q = DEFAULT, 0.0
    for item in accept_language.split(","):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if primary in SUPPORTED and q > best_q:
            best, best_q = primary, q
    return best


def italian_detail(detail: str, title_it: str) -> str:
    if detail in DETAILS_IT:
        return DETAILS_IT[detail]
    for pattern, render in _PATTERNS_IT:
        match = pattern.match(detail)
        if match:
            return render(match)
    return detail if _HAS_DATA.search(detail) else title_it + "."


def translate_problem(body: bytes, language: str) -> bytes:
    """A problem+json body in `language` (only Italian is translated)."""
    if language != "it":
        return body
    try:
        problem = json.loads(body)
    except ValueError:
        return body
    if not isinstance(problem, dict):
        return body
    code = _CODES.get(str(problem.get("code")))
    if code is None:
        return body
    title = TITLES_IT[code]
    problem["title"] = title
    if isinstance(problem.get("detail"), str):
        problem["detail"] = italian_detail(problem["detail"], title)
    return json.dumps(problem, ensure_ascii=False, separators=(",", ":")).encode()
