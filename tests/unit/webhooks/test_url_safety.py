"""Only http(s), and no loopback/link-local/private targets unless a route allows them."""

from __future__ import annotations

import ipaddress

import pytest

from streams.webhooks.url_safety import (
    GuardedResolver,
    TargetRefusedError,
    address_problem,
    redacted_target,
    url_problem,
)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "non-public"),
        ("::ffff:10.0.0.1", "private"),
    ],
)
def test_non_public_addresses_are_refused_unless_allowed(address, kind):
    ip = ipaddress.ip_address(address)
    problem = address_problem(ip, allow_private=False)
    assert problem is not None and kind in problem
    assert address_problem(ip, allow_private=True) is None


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "224.0.0.1", "ff02::1"])
def test_unspecified_and_multicast_are_never_targets(address):
    assert address_problem(ipaddress.ip_address(address), allow_private=True) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "151.101.1.69"])
def test_public_addresses_are_fine(address):
    assert address_problem(ipaddress.ip_address(address), allow_private=False) is None


@pytest.mark.parametrize(
    ("url", "allow_private", "needle"),
    [
        ("https://siem.example.org/ingest", False, None),
        ("http://siem.example.org:8088/x", False, None),
        ("file:///etc/passwd", False, "scheme 'file'"),
        ("gopher://example.org/", False, "scheme 'gopher'"),
        ("https:///nohost", False, "no host"),
        ("https://user:pw@example.org/", False, "credentials"),
        ("http://127.0.0.1:8080/", False, "loopback"),
        ("http://[::1]:8080/", False, "loopback"),
        ("http://127.0.0.1:8080/", True, None),
        ("http://10.1.1.1/", True, None),
        ("http://0.0.0.0/", True, "unspecified"),
        ("http://example.org:99999/", False, "not a valid URL"),
    ],
)
def test_url_problem(url, allow_private, needle):
    problem = url_problem(url, allow_private=allow_private)
    if needle is None:
        assert problem is None
    else:
        assert problem is not None and needle in problem


def test_redacted_target_drops_path_and_query():
    assert redacted_target("http://[::1]:8080/a?token=x") == "http://[::1]:8080"
    assert redacted_target("https://h.example/services/SECRET") == "https://h.example"


async def test_guarded_resolver_refuses_a_name_that_resolves_to_loopback():
    resolver = GuardedResolver(allow_private=False)
    try:
        with pytest.raises(TargetRefusedError, match=r"localhost resolves to .*loopback"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


async def test_guarded_resolver_lets_an_allowed_route_resolve_loopback():
    resolver = GuardedResolver(allow_private=True)
    try:
        results = await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()
    assert results and all(ipaddress.ip_address(r["host"]).is_loopback for r in results)
