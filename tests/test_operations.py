"""Operations: probes, CORS, JSON logs with the request id, production settings."""

import json
import logging

import pytest
from pydantic import ValidationError

from app.config import DEV_SECRET_KEY, Settings, get_settings
from app.logs import JsonFormatter, request_id_var
from app.main import create_app
from tests.helpers import make_client


async def test_cors_allows_configured_origins_only(monkeypatch):
    monkeypatch.setattr(get_settings(), "cors_origins", ["https://partecipa.example.org"])
    async with make_client(create_app()) as client:
        preflight = await client.options(
            "/v1/organizations",
            headers={
                "Origin": "https://partecipa.example.org",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Authorization, Idempotency-Key",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://partecipa.example.org"
        other = await client.options(
            "/v1/organizations",
            headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in other.headers


def test_production_refuses_default_secret_and_missing_database():
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(
            environment="production", secret_key=DEV_SECRET_KEY, database_url="postgresql://x@y/z"
        )
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", secret_key="short", database_url="postgresql://x@y/z")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings(environment="production", secret_key="k" * 40, database_url="")
    assert (
        Settings(
            environment="production", secret_key="k" * 40, database_url="postgresql://x@y/z"
        ).environment
        == "production"
    )


def test_json_log_lines_carry_the_request_id():
    token = request_id_var.set("req-abc")
    try:
        record = logging.LogRecord(
            "consulta.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None
        )
        record.status = 200
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "GET /x"
    assert line["request_id"] == "req-abc"
    assert line["status"] == 200
    assert line["level"] == "info"


async def test_openapi_and_docs_are_served(client):
    spec = (await client.get("/openapi.json")).json()
    assert "/v1/auth/token" in spec["paths"]
    schemes = spec["components"]["securitySchemes"]
    assert any(
        s.get("flows", {}).get("password", {}).get("tokenUrl") == "/v1/auth/token"
        for s in schemes.values()
    )
    assert (await client.get("/docs")).status_code == 200
