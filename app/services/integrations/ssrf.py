"""The SSRF guard for webhook targets: checked when an endpoint is created or changed
and again before every delivery (DNS answers change)."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from app.config import get_settings

# Cloud metadata services and other addresses no webhook should reach, beyond what
# `ipaddress` already calls private, loopback, link-local, multicast or reserved.
_BLOCKED_NETWORKS = (
    ipaddress.ip_network("100.64.0.0/10"),  # shared address space (carrier NAT, Alibaba metadata)
    ipaddress.ip_network("192.0.0.0/24"),
    ipaddress.ip_network("198.18.0.0/15"),
    ipaddress.ip_network("fd00:ec2::/32"),  # AWS metadata over IPv6
)


class TargetRefused(Exception):
    """Why a webhook URL may not be called (a sentence for people)."""


def refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or any(address in network for network in _BLOCKED_NETWORKS)
    )


def check_url_shape(url: str) -> tuple[str, int]:
    """The host and port of a webhook URL whose form is acceptable."""
    parts = urlsplit(url)
    production = get_settings().environment == "production"
    if parts.scheme not in ("https", "http") or (production and parts.scheme != "https"):
        raise TargetRefused("The URL must use https." if production else "Use an http(s) URL.")
    if not parts.hostname:
        raise TargetRefused("The URL has no host.")
    if parts.username or parts.password:
        raise TargetRefused("The URL must not carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("The URL's port is not valid.") from exc
    return parts.hostname, port


async def check_target(url: str) -> None:
    """Refuse URLs that resolve to addresses inside the network (unless
    WEBHOOK_ALLOW_PRIVATE_TARGETS): every address the name resolves to must be public."""
    host, port = check_url_shape(url)
    if get_settings().webhook_allow_private_targets:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"The host {host} does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if refused_address(address):
            raise TargetRefused(
                f"The host {host} resolves to {address}, an address inside a private, "
                "loopback, link-local, multicast or metadata network."
            )


class GuardedResolver(ThreadedResolver):
    """The delivery client's resolver: the addresses it connects to are checked too, so
    a DNS answer changing between `check_target` and the connection cannot slip a
    private address through."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        if not get_settings().webhook_allow_private_targets:
            for result in results:
                address = ipaddress.ip_address(result["host"].split("%", 1)[0])
                if refused_address(address):
                    raise OSError(f"{host} resolves to {address}, a refused address")
        return results
