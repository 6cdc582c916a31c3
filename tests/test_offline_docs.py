"""/docs and /redoc render in headless Chromium with every request beyond the app refused.

The app runs as a real server on a loopback port; the browser's requests go through a
route that lets the server's own address through and aborts everything else (recording
it), and its resolver knows no host name but the loopback one. Swagger UI must still draw
the operations, ReDoc its sections, and no request may have tried to leave.

Chromium is Debian's (`apt-get install -y chromium`, which `.ci/run` installs when it is
missing): Playwright drives it through its packaged driver, so no browser download is
involved. Without it this test fails, it does not skip.
"""

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Route, async_playwright

from app.docs import ASSETS_URL
from tests.servers import server_process

CHROMIUM_INSTALL = "apt-get install -y chromium"


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    path = found or "/usr/bin/chromium"
    assert Path(path).exists(), f"Chromium is needed for this test: {CHROMIUM_INSTALL}"
    return path


async def render(base: str, path: str, selector: str) -> tuple[int, list[str], list[str]]:
    """Open `base + path`, wait for `selector`; (how many match, local URLs, refused URLs)."""
    local, refused = [], []
    origin = urlsplit(base).netloc

    async def only_local(route: Route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            local.append(route.request.url)
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort()

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        try:
            page = await browser.new_page()
            await page.route("**/*", only_local)
            await page.goto(base + path, wait_until="networkidle", timeout=60_000)
            await page.wait_for_selector(selector, timeout=60_000)
            count = await page.locator(selector).count()
        finally:
            await browser.close()
    return count, local, refused


async def test_docs_and_redoc_render_without_any_outside_request(database_url, tmp_path):
    with server_process(database_url, tmp_path) as server:
        await check_pages(server.url)


async def check_pages(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        page = (await client.get("/docs")).text
        assert "cdn." not in page and f"{ASSETS_URL}/swagger-ui-bundle.js" in page
        operations, local, refused = await render(base, "/docs", ".opblock")
        assert refused == []
        assert operations > 100, operations
        assert any(u.endswith("/openapi.json") for u in local)
        assert any(ASSETS_URL in u for u in local)

        redoc = (await client.get("/redoc")).text
        assert "cdn." not in redoc and "fonts.googleapis" not in redoc
        sections, _, refused = await render(base, "/redoc", "[data-section-id]")
        assert refused == []
        assert sections > 100, sections
