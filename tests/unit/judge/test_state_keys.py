"""Names with '/' never share a state: each user and agency has a key of its own.

Agency ``A/B`` with user ``c`` and agency ``A`` with user ``B/c`` were both
``A/B/c`` (one state, one certificate); and an agency named ``A/b`` had the key
of agency ``A``'s user ``b`` in the judge's map of progress marks. The judge is
driven as the worker drives it (positions and input offsets, dict tables).
"""

from __future__ import annotations

from typing import Any

from streams.detectors import Engine
from streams.detectors.state import UserState, event_hash
from streams.judge.batch import BatchItem, ByteStates, Judge
from streams.judge.progress_marks import split
from streams.policy import CertificateRegistry, load_policy
from streams.settings import DEFAULT_POLICY
from tests.unit.detectors.factories import HOUR, at, certify, make_event


def _judge(registry: CertificateRegistry) -> Judge[None]:
    return Judge(Engine(load_policy(DEFAULT_POLICY), registry))


def _items(events: list[Any], start: int = 0) -> list[BatchItem[None]]:
    return [BatchItem(e, None, start + n, (0, start + n)) for n, e in enumerate(events)]


def _user(table: dict[str, bytes], key: str) -> UserState:
    return UserState.from_bytes(split(table[key])[1])


def _seen(table: dict[str, bytes], key: str, events: list[Any]) -> set[str]:
    """Which of ``events`` the stored state of ``key`` has absorbed."""
    state = _user(table, key)
    return {e.event_id for e in events if state.has_seen(event_hash(e.event_id))}


def test_a_slash_in_a_name_gives_two_states_and_two_certificate_verdicts() -> None:
    registry = certify(CertificateRegistry(), "A%2FB/c")  # agency "A/B", user "c"
    first = [make_event(at(0, 9) + i * 60, agency="A/B", user="c") for i in range(5)]
    second = [make_event(at(0, 9, 30) + i * 60, agency="A", user="B/c") for i in range(3)]
    events = sorted(first + second, key=lambda e: e.ts)
    users: dict[str, bytes] = {}
    agencies: dict[str, bytes] = {}
    result = _judge(registry).run(_items(events), ByteStates(users, agencies))

    assert result.processed == 8 and result.duplicates == 0
    assert sorted(users) == ["A%2FB/c", "A/B%2Fc"]
    assert sorted(agencies) == ["A", "A%2FB"]
    assert _seen(users, "A%2FB/c", events) == {e.event_id for e in first}
    assert _seen(users, "A/B%2Fc", events) == {e.event_id for e in second}
    uncertified = [a for a in result.alerts if a.detector == "uncertified_user"]
    assert {(a.agency, a.user) for a in uncertified} == {("A", "B/c")}
    evidence = {i for a in uncertified for i in a.event_ids}
    assert second[0].event_id in evidence <= {e.event_id for e in second}


def test_an_agency_named_like_a_user_key_keeps_its_own_marks() -> None:
    # Agency "A/b" (any user) beside agency "A"'s user "b": the same text unescaped.
    registry = CertificateRegistry()
    events = [
        make_event(at(0, 9) + i * 0.1 * HOUR, **who)
        for i, who in enumerate([{"agency": "A/b", "user": "x"}, {"agency": "A", "user": "b"}] * 6)
    ]
    users: dict[str, bytes] = {}
    agencies: dict[str, bytes] = {}
    judge = _judge(registry)
    once = judge.run(_items(events), ByteStates(users, agencies))
    assert once.processed == 12 and once.duplicates == 0
    assert sorted(users) == ["A%2Fb/x", "A/b"] and sorted(agencies) == ["A", "A%2Fb"]

    # Read again after a crash: every event is known to every state it reached.
    again = judge.run(_items(events), ByteStates(users, agencies))
    assert again.processed == 0 and again.duplicates == 12 and again.alerts == []
    assert _seen(users, "A%2Fb/x", events) == {e.event_id for e in events if e.agency == "A/b"}
    assert _seen(users, "A/b", events) == {e.event_id for e in events if e.agency == "A"}
