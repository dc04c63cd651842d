"""Sessions expire when idle, when old, and are bounded in number."""

from __future__ import annotations

from streams.console.sessions import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_activity_keeps_a_session_alive_until_its_absolute_lifetime() -> None:
    clock = Clock()
    store = SessionStore(idle_s=60, max_age_s=150, clock=clock)
    session = store.create("ana")
    for _ in range(2):
        clock.now += 50
        assert store.get(session.sid) is session
    clock.now += 51  # 151 s after creation, though used 51 s ago
    assert store.get(session.sid) is None


def test_idle_session_expires_and_alive_does_not_extend_it() -> None:
    clock = Clock()
    store = SessionStore(idle_s=60, clock=clock)
    session = store.create("ana")
    clock.now += 40
    assert store.alive(session)  # a live stream checking does not count as activity
    clock.now += 21
    assert not store.alive(session)
    assert store.get(session.sid) is None


def test_anonymous_sessions_are_short_lived() -> None:
    clock = Clock()
    store = SessionStore(anonymous_s=30, clock=clock)
    session = store.create(None)
    assert not session.authenticated
    clock.now += 31
    assert store.get(session.sid) is None


def test_ids_and_tokens_are_random_and_distinct() -> None:
    store = SessionStore()
    a, b = store.create("ana"), store.create("ana")
    assert a.sid != b.sid and a.csrf_token != b.csrf_token
    assert len(a.sid) >= 40 and a.sid != a.csrf_token


def test_the_store_is_bounded_and_drops_least_recently_used() -> None:
    clock = Clock()
    store = SessionStore(max_sessions=3, clock=clock)
    first = store.create("a")
    others = [store.create(str(i)) for i in range(2)]
    store.get(first.sid)  # used recently: survives
    store.create("new")
    assert len(store) == 3
    assert store.get(first.sid) is first
    assert store.get(others[0].sid) is None


def test_drop_and_unknown_ids() -> None:
    store = SessionStore()
    session = store.create("ana")
    store.drop(session.sid)
    assert store.get(session.sid) is None
    assert store.get(None) is None and store.get("") is None and store.get("nope") is None


def test_anonymous_sessions_cannot_push_out_signed_in_ones() -> None:
    store = SessionStore(max_sessions=2, max_anonymous=3)
    signed_in = store.create("ana")
    for _ in range(100):
        store.create(None)  # someone hammering the login page
    assert store.get(signed_in.sid) is signed_in
    assert len(store._anonymous) == 3
