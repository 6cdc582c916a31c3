"""/docs (Swagger UI) and /redoc served with their assets from the application itself.

FastAPI's own pages load Swagger UI and ReDoc from a public CDN: on a closed network (a
municipal intranet) they stay blank, and everywhere they tell a third party the address
of every visitor. Here the pages point at the bundles packaged with `fastapi-offline`
(Swagger UI, ReDoc, the favicon), served under `/docs/assets/`; Swagger UI's online
validator badge is off, ReDoc loads no web fonts, and the one address of a CDN left in
the ReDoc bundle (the Redocly logo of its side menu, drawn unconditionally) is rewritten
to the app's own favicon when the bundle is served (`/docs/redoc.js`). Rendering the docs
makes no request beyond this server: `tests/test_offline_docs.py` checks it in Chromium.
"""

from functools import lru_cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_JS_URL = "/docs/redoc.js"
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache
def redoc_bundle() -> bytes:
    """ReDoc's bundle with its CDN logo pointing at the app's favicon (read once)."""
    text = (ASSETS_DIR / "redoc.standalone.js").read_text("utf-8")
    return text.replace(REDOCLY_LOGO, f"{ASSETS_URL}/favicon.png").encode("utf-8")


def install_offline_docs(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Mount the assets and add the three pages (not in the OpenAPI document)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    parameters = {**(app.swagger_ui_parameters or {}), "validatorUrl": None}

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — Swagger UI",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=parameters,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_JS_URL, include_in_schema=False)
    async def redoc_js() -> Response:
        return Response(
            redoc_bundle(),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — ReDoc",
            redoc_js_url=f"{root}{REDOC_JS_URL}",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
