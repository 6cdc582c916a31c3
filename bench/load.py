"""Load generation for `make bench`: a minimal keep-alive HTTP/1.1 client (so that the
client's own CPU, on the machine that also runs the server, stays small next to the
server's), closed-loop and open-loop (fixed-rate) drivers, and latency statistics.

Closed loop: N clients, each with its own connection, send the next request as soon as
the previous one is answered, for a fixed time: throughput. Open loop: requests are due
at a fixed rate whatever the answers; latency is measured from the moment a request was
due (not from when a connection was free), so a server that falls behind shows it
(no coordinated omission).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class HttpError(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection to the server."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await asyncio.gather(self.writer.wait_closed(), return_exceptions=True)
        self.reader = self.writer = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        """Send one request; a kept-alive connection the server closed meanwhile (idle
        timeout) is reopened once."""
        reused = self.writer is not None
        try:
            return await self._request(method, path, headers, body, content_type)
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.close()
            if not reused:
                raise
            return await self._request(method, path, headers, body, content_type)

    async def _request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None,
        body: bytes | None,
        content_type: str,
    ) -> tuple[int, bytes]:
        reader, writer = await self._open()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for header, text in (headers or {}).items():
            lines.append(f"{header}: {text}")
        if body is not None:
            lines += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked, close = 0, False, False
        for line in head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            key = key.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif key == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                parts.append(await reader.readexactly(size + 2))
                if size == 0:
                    break
            data = b"".join(p[:-2] for p in parts)
        else:
            data = await reader.readexactly(length)
        if close:
            await self.close()
        return status, data


# A step sends one request on the given connection for client number `i` and returns
# the HTTP status, or None when that client has nothing left to do.
Step = Callable[[Connection, int], Awaitable[int | None]]


@dataclass
class Result:
    name: str
    mode: str  # closed | open | sequential | ceiling
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    rate: float | None = None  # open loop: requests due per second
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self, latency: float, status: int) -> None:
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def summary(self) -> dict[str, Any]:
        lat = np.array(self.latencies or [float("nan")]) * 1000
        return {
            "name": self.name,
            "mode": self.mode,
            "clients": self.clients,
            "rate": self.rate,
            "requests": len(self.latencies),
            "seconds": round(self.seconds, 3),
            "throughput": round(len(self.latencies) / self.seconds, 1) if self.seconds else 0,
            "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p95_ms": round(float(np.percentile(lat, 95)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            **self.extra,
        }


async def closed_loop(
    name: str,
    connections: list[Connection],
    step: Step,
    seconds: float,
    *,
    max_requests: int | None = None,
) -> Result:
    result = Result(name, "closed", len(connections), 0.0)
    started = time.perf_counter()
    stop_at = started + seconds
    budget = [max_requests if max_requests is not None else 1 << 62]

    async def client(i: int, conn: Connection) -> None:
        while time.perf_counter() < stop_at and budget[0] > 0:
            budget[0] -= 1
            t0 = time.perf_counter()
            status = await step(conn, i)
            if status is None:
                return
            result.record(time.perf_counter() - t0, status)

    await asyncio.gather(*(client(i, c) for i, c in enumerate(connections)))
    result.seconds = time.perf_counter() - started
    return result


async def open_loop(
    name: str, connections: list[Connection], step: Step, rate: float, seconds: float
) -> Result:
    """`rate` requests per second for `seconds`, on a pool of connections (a request
    waits for a free one; that wait counts in its latency)."""
    result = Result(name, "open", len(connections), 0.0, rate=rate)
    free: asyncio.Queue[tuple[int, Connection]] = asyncio.Queue()
    for i, conn in enumerate(connections):
        free.put_nowait((i, conn))
    total = int(rate * seconds)
    started = time.perf_counter()
    tasks = []
    # A server far below the rate would queue requests for minutes: past this many
    # outstanding requests, due requests are dropped (and counted) instead of sent.
    cap = 4 * len(connections)
    outstanding = [0]
    result.extra["dropped"] = 0

    async def one(due: float, n: int) -> None:
        outstanding[0] += 1
        try:
            i, conn = await free.get()
            try:
                status = await step(conn, n)
            finally:
                free.put_nowait((i, conn))
        finally:
            outstanding[0] -= 1
        if status is not None:
            result.record(time.perf_counter() - due, status)

    for n in range(total):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if outstanding[0] >= cap:
            result.extra["dropped"] += 1
            continue
        tasks.append(asyncio.create_task(one(due, n)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - started
    return result


async def sequential(
    name: str, conn: Connection, step: Step, *, requests: int, within: float
) -> Result:
    """One client, one request at a time: latency without queueing (page-depth curve)."""
    result = Result(name, "sequential", 1, 0.0)
    started = time.perf_counter()
    for n in range(requests):
        if n >= 3 and time.perf_counter() - started > within:
            break
        t0 = time.perf_counter()
        status = await step(conn, n)
        if status is None:
            break
        result.record(time.perf_counter() - t0, status)
    result.seconds = time.perf_counter() - started
    return result
