"""The policy's rules, checked independently of the detectors, for judging simulated events."""

from __future__ import annotations

from streams.contract import SearchEvent
from streams.policy import CertificateRegistry, Policy


def broken_rules(event: SearchEvent, policy: Policy, certs: CertificateRegistry) -> set[str]:
    """Names of the rule detectors (CONTRACT.md section 2) that ``event`` should trigger."""
    broken: set[str] = set()
    if policy.is_prohibited(event.host):
        broken.add("prohibited_endpoint")
    elif not policy.is_authorised(event.host, event.agency):
        broken.add("unknown_endpoint")
    if not policy.may_search_for(event.agency, event.on_behalf_of):
        broken.add("outside_agency")
    if not certs.is_valid(event.agency, event.user, event.ts):
        broken.add("uncertified_user")
    exempt = policy.missing_case_number.exempt_purposes
    if not event.case_number and (event.purpose or "") not in exempt:
        broken.add("missing_case_number")
    return broken


def max_per_window(times: list[float], window_s: float) -> int:
    """The most events inside any sliding window of ``window_s`` seconds."""
    times = sorted(times)
    best = first = 0
    for last, ts in enumerate(times):
        while ts - times[first] >= window_s:
            first += 1
        best = max(best, last - first + 1)
    return best
