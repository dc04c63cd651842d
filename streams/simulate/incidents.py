"""Rule incidents: each breaks exactly one rule of the policy and nothing else.

Apart from the one thing that makes it an incident, every search here is as
valid as background traffic (certified user, own agency, authorised system,
case number, ordinary rate), so only the expected detector has reason to fire.
All of them happen in the second part of the run, after the users have a
history, except :func:`early_burst`: the loudest burst there is, in the first
days of a deployment, when nobody has a history yet.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from streams.simulate.records import ABSENT, CaseBook, new_probe, result_count
from streams.simulate.scenario import Label, Scenario
from streams.simulate.timefmt import HOUR_MS, MINUTE_MS
from streams.simulate.world import SimUser

UNAPPROVED_VENDOR_HOSTS = (
    "faceapi.vendor-trial.example.net",
    "match.facesearch-demo.example.org",
)
UNKNOWN_AGENCY_CODES = ("NCSO", "RVPD", "HCSO")
EARLY_DAYS = 3
"""An early burst falls in the run's first days (fewer when the history phase is shorter)."""


def _times_in_shift(
    sc: Scenario, rng: random.Random, user: SimUser, day: int, count: int
) -> list[int]:
    """``count`` moments spread over the shift, at least two minutes apart."""
    begin, end = sc.world.shift(user, day)
    times = sorted(rng.randint(begin + 20 * MINUTE_MS, end - 20 * MINUTE_MS) for _ in range(count))
    for i in range(1, len(times)):
        times[i] = max(times[i], times[i - 1] + 2 * MINUTE_MS)
    return times


def _spread_searches(
    sc: Scenario,
    rng: random.Random,
    label: Label,
    user: SimUser,
    *,
    days: int,
    per_day: tuple[int, int],
    endpoint: str,
    on_behalf_of: str | None = None,
    case_agency: str | None = None,
    source: str = "audit-log",
    also_seen_as: tuple[tuple[str, str], ...] = (),
    purposes: tuple[str, ...] = ("investigation",),
    cases: tuple[object, ...] | None = None,
    p_zero: float = 0.25,
) -> None:
    """A few incident searches on ``days`` of the user's incident-phase working days.

    ``also_seen_as``: other (endpoint, source) forms the same service takes in
    other sensors' records, e.g. a bare host name from DNS or ``host:443`` from a
    proxy's CONNECT line; each search uses one of the forms.
    """
    book = CaseBook(user.agency, sc.world.year, rng)
    forms = ((endpoint, source), *also_seen_as)
    available = sc.incident_days(user)
    chosen = sorted(rng.sample(available, min(days, len(available))))
    for day in chosen:
        case: object = book.case_number(case_agency)
        for t in _times_in_shift(sc, rng, user, day, rng.randint(*per_day)):
            seen_at, seen_by = forms[rng.randrange(len(forms))]
            sc.sink.add(
                t,
                user.agency,
                user.user,
                seen_at,
                on_behalf_of=on_behalf_of,
                case=rng.choice(cases) if cases is not None else case,
                purpose=rng.choice(purposes),
                probe=new_probe(rng),
                results=result_count(rng, p_zero),
                source=seen_by,
                label=label.index,
            )


def _has_incident_days(sc: Scenario) -> Callable[[SimUser], bool]:
    """Accept users with working days for the incident: two, or one in a short run."""
    minimum = 2 if sc.world.days - sc.world.history_days >= 4 else 1
    return lambda u: len(sc.incident_days(u)) >= minimum


def commercial_ring(sc: Scenario) -> None:
    """Several users of one agency quietly using a commercial FRT service for days."""
    policy = sc.world.policy
    if not policy.prohibited_suffixes:
        return
    rng = sc.rng("commercial-ring")
    suffix = "clearview.ai" if "clearview.ai" in policy.prohibited_suffixes else None
    suffix = suffix or policy.prohibited_suffixes[0]
    host = f"app.{suffix}"
    enough = _has_incident_days(sc)
    agency = max(
        sc.world.agencies,
        key=lambda a: (len(sc.candidates(("regular",), a, accept=enough)), a),
    )
    size = min(max(3, sc.world.config.users // 80), 8)
    label = sc.incident("prohibited_endpoint", "commercial_ring", agency, subject=host)
    members = [
        sc.reserve(rng, label, ("regular", "occasional"), agency, accept=enough)
        for _ in range(size)
    ]
    for user in members:
        book = CaseBook(agency, sc.world.year, rng)
        days = sc.incident_days(user)
        used = 0
        for day in days:
            if rng.random() < 0.65 or (day == days[-1] and used == 0):
                used += 1
                for t in _times_in_shift(sc, rng, user, day, rng.randint(1, 4)):
                    sc.sink.add(
                        t,
                        agency,
                        user.user,
                        f"https://{host}/search",
                        case=book.pick_case(p_new=0.5).number,
                        probe=new_probe(rng),
                        results=result_count(rng, 0.05),
                        source="proxy",
                        label=label.index,
                    )


def commercial_service(sc: Scenario) -> None:
    """One user of another agency trying a second commercial service."""
    suffixes = sc.world.policy.prohibited_suffixes
    if len(suffixes) < 2:
        return
    rng = sc.rng("commercial-service")
    host = next(s for s in suffixes if s != "clearview.ai")
    label = sc.incident("prohibited_endpoint", "commercial_service", "", subject=host)
    ring = {lab.agency for lab in sc.labels if lab.kind == "commercial_ring"}
    user = sc.reserve(rng, label, avoid=tuple(ring), accept=_has_incident_days(sc))
    label.agency = user.agency
    _spread_searches(
        sc,
        rng,
        label,
        user,
        days=2,
        per_day=(2, 4),
        endpoint=f"https://{host}/",
        source="proxy",
        also_seen_as=((f"{host}:443", "proxy"),),
        p_zero=0.1,
    )


def unapproved_vendor(sc: Scenario) -> None:
    """A vendor's free trial: neither authorised nor on the prohibited list."""
    policy = sc.world.policy
    hosts = [
        h
        for h in UNAPPROVED_VENDOR_HOSTS
        if policy.is_prohibited(h) is None and not any(ep.host == h for ep in policy.authorised)
    ]
    if not hosts:
        return
    rng = sc.rng("unapproved-vendor")
    label = sc.incident("unknown_endpoint", "unapproved_vendor", "", subject=hosts[0])
    user = sc.reserve(rng, label, accept=_has_incident_days(sc))
    label.agency = user.agency
    _spread_searches(
        sc,
        rng,
        label,
        user,
        days=2,
        per_day=(2, 4),
        endpoint=f"https://{hosts[0]}/v1/match",
        source="proxy",
        also_seen_as=((hosts[0], "dns"),),
    )


def other_agency_system(sc: Scenario) -> None:
    """A system authorised for other agencies, used by one that may not use it."""
    world = sc.world
    rng = sc.rng("other-agency-system")
    enough = _has_incident_days(sc)
    pairs = [
        (ep.host, agency)
        for ep in world.policy.authorised
        for agency in world.agencies
        if not world.policy.is_authorised(ep.host, agency)
        and world.policy.is_prohibited(ep.host) is None
        and sc.has_candidate(("regular",), agency, accept=enough)
    ]
    if not pairs:
        return
    host, agency = rng.choice(sorted(set(pairs)))
    label = sc.incident("unknown_endpoint", "other_agency_system", agency, subject=host)
    user = sc.reserve(rng, label, agency=agency, accept=enough)
    _spread_searches(
        sc, rng, label, user, days=2, per_day=(2, 4), endpoint=f"https://{host}/api/v2/search"
    )


def outside_agency(sc: Scenario) -> None:
    """Searches for an agency the policy does not allow: a known one and an unknown one."""
    world = sc.world
    policy = world.policy
    rng = sc.rng("outside-agency")
    enough = _has_incident_days(sc)
    pairs = sorted(
        (agency, other)
        for agency in world.agencies
        for other in policy.agencies
        if other != agency
        and not policy.may_search_for(agency, other)
        and sc.has_candidate(("regular",), agency, accept=enough)
    )
    unknown = next(c for c in UNKNOWN_AGENCY_CODES if c not in policy.agencies)
    stories = [("unauthorised_request", *rng.choice(pairs))] if pairs else []
    stories.append(("unknown_requester", "", unknown))
    for kind, agency, other in stories:
        label = sc.incident("outside_agency", kind, agency, subject=other)
        # The unknown requester may come from any agency (chosen with the user).
        user = sc.reserve(rng, label, ("regular", "occasional"), agency or None, accept=enough)
        label.agency = user.agency
        _spread_searches(
            sc,
            rng,
            label,
            user,
            days=2,
            per_day=(1, 3),
            endpoint=user.endpoints[0],
            on_behalf_of=other,
            case_agency=other,
        )


def uncertified(sc: Scenario) -> None:
    """Users without a valid certificate: expired mid-run, never trained, lapsed long ago."""
    world = sc.world
    rng = sc.rng("uncertified")
    end = world.end_ms

    # Expires mid-run and keeps searching: searches before expiry are fine, after are not.
    label = sc.incident("uncertified_user", "certificate_expired", "")
    user = sc.reserve(rng, label, accept=_has_incident_days(sc))
    label.agency = user.agency
    user.leave = None
    days = sc.incident_days(user)
    first_bad = rng.choice(days[:-1] or days)  # two working days without a certificate, if any
    user.certificate = (world.date_text(first_bad - 730), world.date_text(first_bad - 1))
    user.tag_windows.append((world.day_ms(first_bad), end, label.index))

    # Never trained: a new member who starts searching in the second part of the run.
    # Lapsed: a certificate that ran out before the run; back from leave, searching again.
    for kind in ("never_certified", "certificate_lapsed"):
        label = sc.incident("uncertified_user", kind, "")
        user = sc.reserve(rng, label, accept=_has_incident_days(sc))
        label.agency = user.agency
        user.leave = None
        first = rng.choice(sc.incident_days(user)[:2])
        user.active_from_ms = world.day_ms(first)
        if kind == "never_certified":
            user.certificate = None
        else:
            gone = rng.randint(10, 90)
            user.certificate = (world.date_text(-gone - 730), world.date_text(-gone))
        user.tag_windows.append((user.active_from_ms, end, label.index))


def missing_case_number(sc: Scenario) -> None:
    """'Test' and curiosity searches without a case, and investigations without one."""
    rng = sc.rng("missing-case-number")
    label = sc.incident("missing_case_number", "curiosity_searches", "")
    user = sc.reserve(rng, label, ("regular", "occasional"), accept=_has_incident_days(sc))
    label.agency = user.agency
    _spread_searches(
        sc,
        rng,
        label,
        user,
        days=1,
        per_day=(3, 6),
        endpoint=user.endpoints[0],
        purposes=("test", "curiosity", "test"),
        cases=(None,),
        p_zero=0.4,
    )
    label = sc.incident("missing_case_number", "no_case_number", "")
    user = sc.reserve(rng, label, ("regular", "occasional"), accept=_has_incident_days(sc))
    label.agency = user.agency
    _spread_searches(
        sc,
        rng,
        label,
        user,
        days=2,
        per_day=(2, 4),
        endpoint=user.endpoints[0],
        cases=(None, "", "  ", ABSENT),
    )


def _burst(
    sc: Scenario,
    rng: random.Random,
    label: Label,
    user: SimUser,
    count: int,
    span_ms: int,
    available: list[int] | None = None,
) -> None:
    """``count`` searches over ``span_ms`` on a weekday of ``available`` (incident days)."""
    available = sc.incident_days(user) if available is None else available
    days = [d for d in available if sc.world.weekday(d) < 5] or available
    day = rng.choice(days)
    start = sc.time_in_shift(rng, user, day, room_ms=span_ms)
    step = span_ms / (count - 1)
    times = [start] + [
        start + int(i * step) + rng.randint(-20_000, 20_000) for i in range(1, count - 1)
    ]
    times.append(start + span_ms)
    # No ordinary searches of the user close to the burst: the window holds only its evidence.
    user.blackouts.append((start - 2 * HOUR_MS, start + span_ms + 2 * HOUR_MS))
    book = CaseBook(user.agency, sc.world.year, rng)
    case = book.open_case()
    for t in sorted(times):
        sc.sink.add(
            t,
            user.agency,
            user.user,
            user.endpoints[0],
            case=case.number,
            probe=book.probe(case, 0.85),
            results=result_count(rng, 0.3),
            label=label.index,
        )


def bursts(sc: Scenario, avoid_agencies: tuple[str, ...]) -> None:
    """Loud bursts (an occasional user, 25 in 45 minutes) and quiet ones (a regular, ~22/h)."""
    rng = sc.rng("bursts")
    per_kind = min(max(1, sc.world.config.users // 200), 5)
    enough = _has_incident_days(sc)
    for _ in range(per_kind):
        label = sc.incident("burst", "loud_burst", "")
        user = sc.reserve(
            rng, label, ("occasional", "regular"), avoid=avoid_agencies, accept=enough
        )
        label.agency = user.agency
        _burst(sc, rng, label, user, 25, 45 * MINUTE_MS)
    for _ in range(per_kind):
        label = sc.incident("burst", "quiet_burst", "")
        user = sc.reserve(rng, label, avoid=avoid_agencies, accept=enough)
        label.agency = user.agency
        _burst(sc, rng, label, user, rng.randint(20, 25), rng.randint(50, 58) * MINUTE_MS)


def early_burst(sc: Scenario, avoid_agencies: tuple[str, ...]) -> None:
    """An occasional user runs about a hundred searches in under an hour in the first days.

    It happens while the agency is newly watched and nobody has a search history
    yet: the burst detector must see it against the floor and the peers alone.
    Planned after every other story, so that none of theirs changes.
    """
    world = sc.world
    last = min(EARLY_DAYS, world.history_days)

    def early(user: SimUser) -> list[int]:
        return world.work_days(user, 0, last)

    roles = ("occasional", "regular")
    if not sc.candidates(roles, avoid=avoid_agencies, accept=lambda u: bool(early(u))):
        return
    rng = sc.rng("early-burst")
    label = sc.incident("burst", "early_burst", "")
    user = sc.reserve(rng, label, roles, avoid=avoid_agencies, accept=lambda u: bool(early(u)))
    label.agency = user.agency
    span_ms = rng.randint(48, 56) * MINUTE_MS
    _burst(sc, rng, label, user, rng.randint(90, 110), span_ms, early(user))


def plan_rule_incidents(sc: Scenario, surge_agency: str | None) -> None:
    """Every rule incident of the scenario, in a fixed order (ids follow it)."""
    commercial_ring(sc)
    commercial_service(sc)
    unapproved_vendor(sc)
    other_agency_system(sc)
    outside_agency(sc)
    uncertified(sc)
    missing_case_number(sc)
    bursts(sc, (surge_agency,) if surge_agency else ())
