"""Real server processes and a real SSE reader for the live-stream tests."""

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import metadata

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_ENV = {
    "ENVIRONMENT": "test",
    "LOG_LEVEL": "WARNING",
    "LIVE_PRESENCE_SECONDS": "0.5",
    "LIVE_HEARTBEAT_SECONDS": "2",
    "LIVE_RESULTS_INTERVAL": "1",
    "WRITE_LIMITS_ENABLED": "false",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]


def start_server(database_url: str) -> Server:
    port = _free_port()
    env = {**os.environ, **SERVER_ENV, "DATABASE_URL": database_url}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, process)
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


@contextlib.contextmanager
def servers(database_url: str, count: int) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for _ in range(count):
            started.append(start_server(database_url))
        yield started
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()


async def truncate_all(engine: AsyncEngine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(f"TRUNCATE {tables} CASCADE"))


@dataclass
class Message:
    event: str | None
    data: Any
    id: str | None
    retry: int | None = None


@dataclass
class Stream:
    """One SSE connection read in the background; messages land on a queue."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    messages: asyncio.Queue[Message | None] = field(default_factory=asyncio.Queue)
    comments: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    body: str = ""

    async def _run(self) -> None:
        timeout = httpx.Timeout(10, read=None)
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            client.stream("GET", self.url, headers=self.headers) as response,
        ):
            self.status = response.status_code
            if response.status_code != 200:
                self.body = (await response.aread()).decode()
                self.opened.set()
                return
            fields: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    self.opened.set()
                elif line == "":
                    if fields:
                        self.messages.put_nowait(_message(fields))
                    fields = {}
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    fields[name] = fields[name] + "\n" + value if name in fields else value
        self.messages.put_nowait(None)

    async def open(self) -> "Stream":
        self.task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.opened.wait(), 30)
        return self

    async def next(self, *events: str, wait: float = 20) -> Message:
        """The next message (of one of these types, skipping others)."""
        while True:
            message = await asyncio.wait_for(self.messages.get(), wait)
            assert message is not None, "the stream ended"
            if not events or message.event in events:
                return message

    async def until(self, predicate: Any, wait: float = 20) -> list[Message]:
        """Every message up to and including the first that satisfies `predicate`."""
        seen: list[Message] = []
        while True:
            message = await asyncio.wait_for(self.messages.get(), wait)
            assert message is not None, f"the stream ended after {seen}"
            seen.append(message)
            if predicate(message):
                return seen

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await self.task


def _message(fields: dict[str, str]) -> Message:
    data = json.loads(fields["data"]) if "data" in fields else None
    retry = int(fields["retry"]) if "retry" in fields else None
    return Message(fields.get("event"), data, fields.get("id"), retry)


@contextlib.asynccontextmanager
async def stream(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Stream]:
    s = await Stream(url, headers or {}).open()
    try:
        yield s
    finally:
        await s.close()
