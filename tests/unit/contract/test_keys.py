"""State keys: escaped parts, one raw '/', ordinary names unchanged, a strict inverse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.contract.keys import (
    agency_key,
    escape_part,
    parse_user_key,
    unescape_part,
    user_key,
)

# Names as producers send them: any text, with '/' and '%' (and look-alike escapes) common.
names = st.text(alphabet=st.sampled_from("aZ0-_.%/2F5 é"), max_size=12) | st.text(max_size=20)


def test_a_slash_in_a_name_no_longer_merges_two_users() -> None:
    assert user_key("A/B", "c") != user_key("A", "B/c")
    assert parse_user_key(user_key("A/B", "c")) == ("A/B", "c")
    assert parse_user_key(user_key("A", "B/c")) == ("A", "B/c")


@pytest.mark.parametrize(
    ("agency", "user", "key"),
    [
        ("MPD", "u7", "MPD/u7"),
        ("SPD", "spd-0001", "SPD/spd-0001"),
        ("Metro PD", "j.doe@example.gov", "Metro PD/j.doe@example.gov"),
        ("A/B", "c", "A%2FB/c"),
        ("A", "B/c", "A/B%2Fc"),
        ("50%", "x", "50%25/x"),
        ("a%2Fb", "u", "a%252Fb/u"),  # a name that looks escaped is escaped again
        ("", "u", "/u"),
    ],
)
def test_stored_form(agency: str, user: str, key: str) -> None:
    assert user_key(agency, user) == key
    assert parse_user_key(key) == (agency, user)


def test_keys_written_before_escaping_existed_still_decode() -> None:
    # Every name without '%' or '/' was stored as f"{agency}/{user}": the same bytes.
    for agency, user in [("MPD", "mpd-0012"), ("SPD", "x y"), ("ÉPD", "ü")]:
        legacy = f"{agency}/{user}"
        assert user_key(agency, user) == legacy
        assert parse_user_key(legacy) == (agency, user)
    assert agency_key("MPD") == "MPD"


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("no-slash", "0 unescaped '/'"),
        ("A/B/c", "2 unescaped '/'"),
        ("A/50%off", "not escaped as %25 and %2F only"),
        ("A/a%2fb", "not escaped as %25 and %2F only"),  # lower case is never written
        ("A%/b", "not escaped as %25 and %2F only"),
    ],
)
def test_a_key_no_name_encodes_to_is_refused_with_the_reason(key: str, why: str) -> None:
    with pytest.raises(ValueError, match="is not <agency>/<user>") as info:
        parse_user_key(key)
    assert why in str(info.value)


def test_an_agency_key_never_equals_a_user_key() -> None:
    # The judge keeps agencies' and users' marks in one map.
    assert agency_key("A/b") == "A%2Fb" != user_key("A", "b")
    with pytest.raises(ValueError):
        unescape_part("a/b")


@given(names, names)
def test_round_trip(agency: str, user: str) -> None:
    key = user_key(agency, user)
    assert parse_user_key(key) == (agency, user)
    assert key.count("/") == 1
    assert "/" not in agency_key(agency)
    assert unescape_part(agency_key(agency)) == agency
    if not set("%/") & set(agency + user):
        assert key == f"{agency}/{user}"


@given(names, names, names, names)
def test_distinct_names_give_distinct_keys(a1: str, u1: str, a2: str, u2: str) -> None:
    assert (user_key(a1, u1) == user_key(a2, u2)) == ((a1, u1) == (a2, u2))


@given(st.text(alphabet=st.sampled_from("ab/%25Ff"), max_size=16))
def test_every_key_that_decodes_is_the_encoding_of_what_it_decodes_to(key: str) -> None:
    try:
        agency, user = parse_user_key(key)
    except ValueError:
        return
    assert user_key(agency, user) == key
    assert escape_part(agency) + "/" + escape_part(user) == key
