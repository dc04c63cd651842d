"""Only http(s), and no loopback/link-local/private targets unless a route allows them."""

from __future__ import annotations

import ipaddress
import socket

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


# IPv6 forms that carry an IPv4 address: packets to them reach that address (through
# the host's stack, a NAT64 gateway, or a 6to4 / Teredo relay).
TRANSITION_FORMS = [
    ("64:ff9b::a00:1", "NAT64", "10.0.0.1"),
    ("64:ff9b::7f00:1", "NAT64", "127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "NAT64", "169.254.169.254"),
    ("64:ff9b:1::c0a8:101", "NAT64", "192.168.1.1"),
    ("2002:a00:1::1", "6to4", "10.0.0.1"),
    ("2002:7f00:1::", "6to4", "127.0.0.1"),
    ("2002:a9fe:a9fe::1", "6to4", "169.254.169.254"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo", "10.0.0.1"),
    ("::127.0.0.1", "IPv4-compatible", "127.0.0.1"),
    ("::10.0.0.1", "IPv4-compatible", "10.0.0.1"),
    ("::ffff:0:10.0.0.1", "IPv4-translated", "10.0.0.1"),
    ("::ffff:169.254.169.254", "", "169.254.169.254"),
]


@pytest.mark.parametrize(("address", "form", "inner"), TRANSITION_FORMS)
def test_transition_forms_of_private_addresses_are_refused(address, form, inner):
    problem = address_problem(ipaddress.ip_address(address), allow_private=False)
    assert problem is not None
    assert f"{form} form of {inner}" in problem if form else problem.startswith(inner)


@pytest.mark.parametrize(("address", "form", "inner"), TRANSITION_FORMS)
def test_transition_forms_in_urls_are_refused(address, form, inner):
    problem = url_problem(f"https://[{address}]:8443/hook", allow_private=False)
    assert problem is not None and inner in problem


@pytest.mark.parametrize(
    "address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "::8.8.8.8"]
)
def test_transition_forms_of_public_addresses_are_fine(address):
    assert address_problem(ipaddress.ip_address(address), allow_private=False) is None


@pytest.mark.parametrize("address", ["64:ff9b::a00:1", "2002:a00:1::1", "::10.0.0.1"])
def test_an_allowed_route_may_reach_private_addresses_through_any_form(address):
    assert address_problem(ipaddress.ip_address(address), allow_private=True) is None


@pytest.mark.parametrize("address", ["64:ff9b::e000:1", "2002:e000:1::1"])
def test_transition_forms_of_multicast_are_never_targets(address):
    problem = address_problem(ipaddress.ip_address(address), allow_private=True)
    assert problem is not None and "224.0.0.1 is a multicast" in problem


async def test_guarded_resolver_refuses_a_nat64_answer():
    resolver = GuardedResolver(allow_private=False)
    try:
        with pytest.raises(TargetRefusedError, match=r"NAT64 form of 10\.0\.0\.1"):
            await resolver.resolve("64:ff9b::a00:1", 443, socket.AF_INET6)
    finally:
        await resolver.close()
