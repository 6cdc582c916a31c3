"""Examples of the main request bodies and responses of the OpenAPI document, by component
schema (tests/test_openapi.py validates each against its schema)."""

from __future__ import annotations

import copy
from typing import Any

_TABLE = "0f8e3c1a-3b7e-4a53-9a4e-2d1c0b7a6f10"
_PROPOSAL = "6a1d2f0e-8c4b-4d7e-b1a2-5e9f3c7d8b21"
_USER = "3c2b1a0f-9e8d-4c7b-a6f5-e4d3c2b1a098"
_NODE = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c65"
_WHEN = "2026-05-02T16:30:00Z"

SCHEMA_EXAMPLES: dict[str, dict[str, Any]] = {
    "UserRegister": {
        "email": "lucia.bianchi@example.org",
        "password": "una password abbastanza lunga",
        "display_name": "Lucia Bianchi",
        "locale": "it",
    },
    "TokenRequest": {
        "grant_type": "password",
        "username": "lucia.bianchi@example.org",
        "password": "una password abbastanza lunga",
    },
    "TokenResponse": {
        "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIzYzJiIn0.c2lnbmF0dXJh",
        "token_type": "bearer",
        "expires_in": 900,
        "refresh_token": "r1_Jx8yq3TzUu0kVvW2n4rQ",
    },
    "ProposalCreate": {
        "title": "Più alberi nei cortili delle scuole",
        "body": "Piantare alberi nei cortili di ogni scuola primaria del quartiere.",
        "node_ids": [_NODE],
    },
    "ProposalDraft": {
        "title": "Biblioteche aperte la sera",
        "body": "Aprire le biblioteche di quartiere fino a mezzanotte.",
    },
    "SimilarCheck": {
        "similar": [
            {
                "id": _PROPOSAL,
                "title": "Spazi studio aperti la sera",
                "status": "published",
                "moderation_status": "visible",
                "answer_state": None,
                "supports_count": 12,
                "comments_count": 3,
                "published_at": _WHEN,
                "similarity": 0.61,
            }
        ]
    },
    "SupportStatus": {
        "proposal_id": _PROPOSAL,
        "supported_by_me": True,
        "supports_count": 13,
        "threshold_reached": None,
    },
    "CommentCreate": {"body": "D'accordo: serve anche la sera.", "alignment": "in_favor"},
    "MembershipInvite": {"email": "marco.verdi@example.org"},
    "MembershipPublic": {
        "id": "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a",
        "table_id": _TABLE,
        "user_id": _USER,
        "display_name": "Lucia Bianchi",
        "role": "member",
        "status": "active",
        "activated_at": _WHEN,
        "created_at": _WHEN,
        "updated_at": _WHEN,
    },
}


def document_examples(document: dict[str, Any]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for name, example in SCHEMA_EXAMPLES.items():
        if name in schemas:
            schemas[name]["examples"] = [copy.deepcopy(example)]
