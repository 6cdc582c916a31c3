"""Builders for survey tests: a questionnaire with one question of every kind."""

from datetime import UTC, datetime, timedelta
from typing import Any


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def every_kind() -> list[dict[str, Any]]:
    return [
        {
            "kind": "single",
            "text": {"it": "Quale servizio usi di più?"},
            "required": True,
            "options": [{"it": "Autobus"}, {"it": "Biblioteca"}, {"it": "Anagrafe"}],
        },
        {
            "kind": "multiple",
            "text": {"it": "Cosa miglioreresti?"},
            "options": [{"it": "Orari"}, {"it": "Accessibilità"}, {"it": "Pulizia"}],
            "max_choices": 2,
        },
        {
            "kind": "scale",
            "text": {"it": "Quanto sei soddisfatto?"},
            "required": True,
            "min": 1,
            "max": 5,
            "labels": {"1": {"it": "Per nulla"}, "5": {"it": "Moltissimo"}},
        },
        {"kind": "nps", "text": {"it": "Consiglieresti il servizio?"}, "required": True},
        {"kind": "text", "text": {"it": "Suggerimenti"}, "max_length": 50},
        {
            "kind": "matrix",
            "text": {"it": "Valuta"},
            "required": True,
            "rows": [{"it": "Cortesia"}, {"it": "Tempi"}],
            "min": 1,
            "max": 4,
        },
    ]


def survey_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "title": {"it": "Soddisfazione dei servizi", "en": "Service satisfaction"},
        "description": {"it": "Aiutaci a migliorare"},
        "closes_at": iso(timedelta(days=10)),
        "anonymous": False,
        "audience": "public",
        "results_public": True,
        "questions": every_kind(),
    }
    return body | overrides


def answers_for(survey: dict[str, Any], **choice: Any) -> dict[str, Any]:
    """A complete, valid response; `choice` overrides values by kind
    (single=index, multiple=[indexes], scale=int, nps=int, text=str, matrix=[values])."""
    q = {item["kind"]: item for item in survey["questions"]}
    return {
        "answers": [
            {
                "question_id": q["single"]["id"],
                "option_ids": [q["single"]["options"][choice.get("single", 0)]["id"]],
            },
            {
                "question_id": q["multiple"]["id"],
                "option_ids": [
                    q["multiple"]["options"][i]["id"] for i in choice.get("multiple", [0])
                ],
            },
            {"question_id": q["scale"]["id"], "value": choice.get("scale", 4)},
            {"question_id": q["nps"]["id"], "value": choice.get("nps", 9)},
            {"question_id": q["text"]["id"], "text": choice.get("text", "Più corse la sera")},
            {
                "question_id": q["matrix"]["id"],
                "rows": [
                    {"row_id": r["id"], "value": v}
                    for r, v in zip(q["matrix"]["rows"], choice.get("matrix", [3, 2]), strict=True)
                ],
            },
        ]
    }
