"""A small GeoReport v2 client, written from the specification (georeport v2, 2010-2013)
and not from this code base: what a municipal app would run against any Open311 server.

Endpoints are `{base}/services.json`, `{base}/services/{code}.json`,
`{base}/requests.json` (GET with filters, POST form-encoded), `{base}/requests/{id}.json`
and `{base}/tokens/{token}.json`, each taking `jurisdiction_id`. Errors are JSON lists of
`{code, description}`.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx


class GeoReportError(Exception):
    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors


@dataclass
class GeoReportClient:
    http: httpx.AsyncClient
    base: str
    jurisdiction_id: str
    api_key: str | None = None

    async def _get(self, path: str, **params: str) -> Any:
        response = await self.http.get(
            f"{self.base}/{path}", params={"jurisdiction_id": self.jurisdiction_id, **params}
        )
        return self._parse(response)

    @staticmethod
    def _parse(response: httpx.Response) -> Any:
        body = response.json()
        if response.status_code >= 400:
            assert isinstance(body, list), body
            assert all(set(e) == {"code", "description"} for e in body), body
            raise GeoReportError(response.status_code, body)
        return body

    async def services(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._get("services.json")
        return result

    async def definition(self, service_code: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._get(f"services/{service_code}.json")
        return result

    async def post_request(
        self,
        service_code: str,
        attributes: dict[str, str | list[str]] | None = None,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> list[dict[str, Any]]:
        form: list[tuple[str, str]] = [
            ("jurisdiction_id", self.jurisdiction_id),
            ("service_code", service_code),
        ]
        if self.api_key:
            form.append(("api_key", self.api_key))
        form += [(name, str(value)) for name, value in fields.items()]
        for code, value in (attributes or {}).items():
            if isinstance(value, list):
                form += [(f"attribute[{code}][]", v) for v in value]
            else:
                form.append((f"attribute[{code}]", value))
        response = await self.http.post(
            f"{self.base}/requests.json",
            content=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )
        result: list[dict[str, Any]] = self._parse(response)
        return result

    async def requests(self, **filters: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._get("requests.json", **filters)
        return result

    async def request(self, service_request_id: str) -> dict[str, Any]:
        result = await self._get(f"requests/{service_request_id}.json")
        assert isinstance(result, list) and len(result) == 1
        found: dict[str, Any] = result[0]
        return found

    async def token(self, token: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._get(f"tokens/{token}.json")
        return result
