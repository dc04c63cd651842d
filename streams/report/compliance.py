"""The compliance rollup: searches and rule breaches per agency, system and purpose.

State FRT laws ask agencies for yearly counts of searches per system, with
unauthorised uses, searches without a case number, searches for other
agencies and searches by untrained staff counted. This module turns the
replay's search tally (:mod:`.tally`) into exactly those numbers, in one
tidy table: ``scope`` says how the row is grouped (``all``, ``agency``,
``system``, ``agency_system``, ``purpose``, ``agency_purpose``) and the
grouping columns not used by a scope are empty. The same table is written
as ``compliance.csv``.

Counts are searches (events), except ``users`` and ``uncertified_users``,
which count distinct ``agency/user`` pairs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from streams.contract.keys import user_key

COUNT_COLUMNS = (
    "searches",
    "no_case_number",
    "missing_case_number_violation",
    "on_behalf_of_other",
    "on_behalf_of_not_allowed",
    "unauthorised_system",
    "prohibited_system",
    "unknown_system",
    "uncertified_user",
)
KEY_COLUMNS = ("scope", "agency", "system", "system_status", "purpose")
ROLLUP_COLUMNS = (*KEY_COLUMNS, "users", "uncertified_users", *COUNT_COLUMNS)
SCOPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("all", ()),
    ("agency", ("agency",)),
    ("system", ("system",)),
    ("agency_system", ("agency", "system", "system_status")),
    ("purpose", ("purpose",)),
    ("agency_purpose", ("agency", "purpose")),
)


def compliance_rollup(tally: pd.DataFrame) -> pd.DataFrame:
    """The rollup of a report frame (:func:`streams.report.tally.tally_frame`)."""
    frame = pd.DataFrame(
        {
            "agency": tally["agency"],
            "system": tally["host"],
            "system_status": tally["system_status"],
            "purpose": tally["purpose"],
            "user_key": [
                user_key(a, u) for a, u in zip(tally["agency"], tally["user"], strict=True)
            ],
        }
    )
    searches = tally["searches"].astype("int64")
    frame["searches"] = searches
    for name in COUNT_COLUMNS[1:]:
        frame[name] = searches.where(tally[name].astype(bool), 0)
    frame["uncertified_key"] = frame["user_key"].where(tally["uncertified_user"].astype(bool))
    parts: list[pd.DataFrame] = []
    for scope, keys in SCOPES:
        if keys:
            grouped = frame.groupby(list(keys), sort=True, dropna=False)
            part = grouped[list(COUNT_COLUMNS)].sum()
            part["users"] = grouped["user_key"].nunique()
            part["uncertified_users"] = grouped["uncertified_key"].nunique()
            part = part.reset_index()
        else:
            part = pd.DataFrame(
                [
                    {
                        **{name: int(frame[name].sum()) for name in COUNT_COLUMNS},
                        "users": int(frame["user_key"].nunique()),
                        "uncertified_users": int(frame["uncertified_key"].nunique()),
                    }
                ]
            )
        part.insert(0, "scope", scope)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    for name in KEY_COLUMNS:
        if name not in out:
            out[name] = ""
        out[name] = out[name].fillna("").astype(str)
    for name in ("users", "uncertified_users", *COUNT_COLUMNS):
        out[name] = out[name].fillna(0).astype("int64")
    return out[list(ROLLUP_COLUMNS)]


def scope(rollup: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one scope, without the grouping columns it does not use."""
    keys = dict(SCOPES)[name]
    rows = rollup[rollup["scope"] == name]
    return rows[[*keys, "users", "uncertified_users", *COUNT_COLUMNS]].reset_index(drop=True)


def spreadsheet_safe(text: str) -> str:
    """Defuse a cell a spreadsheet would run as a formula (free-text purposes come from events).

    >>> spreadsheet_safe("=HYPERLINK(1)"), spreadsheet_safe("investigation")
    ("'=HYPERLINK(1)", 'investigation')
    """
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_compliance_csv(rollup: pd.DataFrame, path: Path) -> None:
    out = rollup.copy()
    for name in KEY_COLUMNS:
        out[name] = out[name].map(spreadsheet_safe)
    tmp = path.with_name(path.name + ".tmp")
    out.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(path)
