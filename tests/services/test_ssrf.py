"""The SSRF guard: which addresses webhook targets may resolve to."""

import ipaddress

import pytest

from app.config import get_settings
from app.services.integrations.ssrf import (
    GuardedResolver,
    TargetRefused,
    check_target,
    refused_address,
)


@pytest.fixture(autouse=True)
def _restore_settings():
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "224.0.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
    ],
)
def test_internal_addresses_are_refused(address):
    assert refused_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert not refused_address(ipaddress.ip_address(address))


async def test_the_connection_resolver_refuses_what_the_check_refuses(monkeypatch):
    resolver = GuardedResolver()
    with pytest.raises(OSError, match="refused"):
        await resolver.resolve("127.0.0.1", 80)
    assert [r["host"] for r in await resolver.resolve("93.184.215.14", 443)] == ["93.184.215.14"]
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
    get_settings.cache_clear()
    assert [r["host"] for r in await resolver.resolve("127.0.0.1", 80)] == ["127.0.0.1"]
    await resolver.close()


async def test_production_requires_https(monkeypatch):
    await check_target("http://93.184.215.14/hook")
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@localhost/db")
    get_settings.cache_clear()
    with pytest.raises(TargetRefused, match="https"):
        await check_target("http://93.184.215.14/hook")
    await check_target("https://93.184.215.14/hook")
    with pytest.raises(TargetRefused):
        await check_target("https://user:pw@93.184.215.14/hook")
