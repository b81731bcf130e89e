"""Find (and quarantine) rows that the engine cannot load or that break the value rules.

A database written by an older version, by hand or by another tool can hold what the importers
now refuse (:mod:`discovery.store.validate`): a ``taken_at`` in year 3170843, a like count of
10^30 stored as text or a float, a NUL in a caption, a handle with a bidi override, a follow of
an account that does not exist. One such row stops ``info``, ``feed`` and ``serve``.
:func:`diagnose` lists them; :func:`repair` moves them, in one transaction, into the
``quarantine`` table (table name, the row as JSON, reason, time), together with the rows that
depended on them (a quarantined account's posts, follows and interactions), and resets the
meta ``now`` when it lies outside the window. Nothing is lost: every moved row is in
``quarantine`` as JSON.

SQL here is portable (SQLite and PostgreSQL): ``?`` placeholders through the store's
``_fetch``/``_exec``, range tests with ``<``/``>`` (SQLite orders any TEXT after any number, so
a count stored as text fails ``like_count > 2147483647`` too), ``NOT EXISTS`` for dangling
references, and text rules checked in Python.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .model import ACCOUNT_KINDS, INTERACTION_KINDS, MEDIA_TYPES
from .schema import SCHEMA_VERSION
from .validate import (
    CAPTION_MAX,
    COUNT_MAX,
    DISPLAY_NAME_MAX,
    FUTURE_SLACK,
    ID_MAX,
    NUMBER_MAX,
    TIME_MAX,
    TIME_MIN,
    BadValue,
    brief,
    check_handle,
    check_text,
    check_url_or_path,
)

__all__ = ["QUARANTINE_SQL", "Problem", "diagnose", "repair"]

#: Portable types only: the same statement on SQLite and PostgreSQL.
QUARANTINE_SQL = (
    "CREATE TABLE IF NOT EXISTS quarantine ("
    " table_name TEXT NOT NULL,"
    " row_json TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " quarantined_at BIGINT NOT NULL)"
)
# Schema 2 renamed interactions.user (a reserved word in PostgreSQL) to account.
_USER = "account" if SCHEMA_VERSION >= 2 else '"user"'
_KEY = ["ext_key"] if SCHEMA_VERSION >= 2 else []
#: table -> (its key columns, the columns kept in the quarantined JSON).
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "accounts": (("id",), ("id", "handle", "display_name", "kind", "created_at", *_KEY)),
    "posts": (
        ("id",),
        (
            "id",
            "author",
            "taken_at",
            "caption",
            "media_type",
            "image",
            "like_count",
            "comment_count",
            *_KEY,
        ),
    ),
    "follows": (("src", "dst"), ("src", "dst", "created_at")),
    "interactions": (("id",), ("id", _USER, "post", "kind", "created_at", "value")),
    "hashtags": (("id",), ("id", "tag")),
    "post_hashtags": (("post", "hashtag"), ("post", "hashtag", "original")),
}


@dataclass(frozen=True)
class Problem:
    """One row that breaks a rule: where it is, what it holds, and why it is refused."""

    table: str
    row: dict[str, Any]
    reason: str

    def key(self) -> tuple[Any, ...]:
        if self.table == "meta":
            return (self.row["key"],)
        return tuple(self.row[c.strip('"')] for c in TABLES[self.table][0])

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={_brief(v)}" for k, v in self.row.items())
        return f"{self.table} ({shown}): {self.reason}"


def _brief(value: Any) -> str:
    return brief(value, 60)


def _fetch(store: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return list(store._fetch(sql, params))


def _exec(store: Any, sql: str, params: Sequence[Any] = ()) -> None:
    store._exec(sql, params)


def _range(column: str, low: int | float, high: int | float) -> tuple[str, list[Any]]:
    return f"{column} < ? OR {column} > ?", [low, high]


def _sql_checks(ceiling: int) -> dict[str, list[tuple[str, str, list[Any]]]]:
    """Per table: (reason, WHERE clause, parameters) for the rules SQL can test."""

    def rng(column: str, low: int | float, high: int | float, what: str) -> tuple:
        where, params = _range(column, low, high)
        return (f"{column} {what}", where, params)

    def ids(*columns: str) -> list[tuple]:
        return [rng(c, 0, ID_MAX, "outside 0 … 2**63-1") for c in columns]

    def when(column: str) -> tuple:
        return rng(column, TIME_MIN, ceiling, "outside year 1 … a day after now")

    def dangling(column: str, table: str) -> tuple:
        return (
            f"{column} refers to a missing row of {table}",
            f"{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = {column})",
            [],
        )

    counts = "outside 0 … 2**31-1"
    return {
        "accounts": [
            *ids("id"),
            rng("kind", 0, len(ACCOUNT_KINDS) - 1, "is not a known account kind"),
            when("created_at"),
        ],
        "posts": [
            *ids("id"),
            (
                "author outside 0 … 2**63-1",
                "author IS NOT NULL AND (author < 0 OR author > ?)",
                [ID_MAX],
            ),
            when("taken_at"),
            rng("media_type", 0, len(MEDIA_TYPES) - 1, "is not a known media type"),
            rng("like_count", 0, COUNT_MAX, counts),
            rng("comment_count", 0, COUNT_MAX, counts),
            dangling("author", "accounts"),
        ],
        "follows": [
            *ids("src", "dst"),
            when("created_at"),
            dangling("src", "accounts"),
            dangling("dst", "accounts"),
        ],
        "interactions": [
            *ids("id", _USER, "post"),
            rng("kind", 0, len(INTERACTION_KINDS) - 1, "is not a known interaction kind"),
            when("created_at"),
            (
                "value outside ±3.4e38",
                "value IS NOT NULL AND (value < ? OR value > ?)",
                [-NUMBER_MAX, NUMBER_MAX],
            ),
            dangling(_USER, "accounts"),
            dangling("post", "posts"),
        ],
        "hashtags": [*ids("id")],
        "post_hashtags": [dangling("post", "posts"), dangling("hashtag", "hashtags")],
    }


#: table -> (column, check) for the text rules, tested in Python (NUL, surrogates, bidi).
_TEXT_RULES: dict[str, list[tuple[str, Any]]] = {
    "accounts": [
        ("handle", check_handle),
        ("display_name", lambda v, c: check_text(v, c, max_chars=DISPLAY_NAME_MAX)),
        *[(k, lambda v, c: check_text(v, c, max_chars=DISPLAY_NAME_MAX)) for k in _KEY],
    ],
    "posts": [
        ("caption", lambda v, c: check_text(v, c, max_chars=CAPTION_MAX)),
        ("image", lambda v, c: v is None or check_url_or_path(v, c)),
        *[(k, lambda v, c: check_text(v, c, max_chars=DISPLAY_NAME_MAX)) for k in _KEY],
    ],
    "hashtags": [("tag", lambda v, c: check_text(v, c, max_chars=CAPTION_MAX))],
    "post_hashtags": [("original", lambda v, c: check_text(v, c, max_chars=CAPTION_MAX))],
}


def _select(table: str) -> str:
    return f"SELECT {', '.join(TABLES[table][1])} FROM {table}"


def _row(table: str, values: Sequence[Any]) -> dict[str, Any]:
    return {c.strip('"'): v for c, v in zip(TABLES[table][1], values, strict=True)}


def _scan(store: Any, ceiling: int) -> list[Problem]:
    """Every row breaking a rule, once per row (its reasons joined)."""
    found: dict[tuple[str, tuple[Any, ...]], Problem] = {}

    def add(problem: Problem) -> None:
        k = (problem.table, problem.key())
        old = found.get(k)
        found[k] = (
            problem
            if old is None
            else Problem(old.table, old.row, f"{old.reason}; {problem.reason}")
        )

    for table, checks in _sql_checks(ceiling).items():
        for reason, where, params in checks:
            for values in _fetch(store, f"{_select(table)} WHERE {where}", params):
                add(Problem(table, _row(table, values), reason))
    for table, rules in _TEXT_RULES.items():
        columns = [c for c, _ in rules]
        indexes = [TABLES[table][1].index(c) for c in columns]
        for values in _fetch(store, _select(table)):
            for (column, rule), i in zip(rules, indexes, strict=True):
                value = values[i]
                try:
                    if column == "image" or value is not None:
                        rule(value, column)
                except BadValue as exc:
                    add(Problem(table, _row(table, values), str(exc)))
    return list(found.values())


def _now_problem(store: Any, ceiling: int) -> Problem | None:
    now = store.get_meta("now")
    if now is None:
        return None
    try:
        ok = TIME_MIN <= int(now) <= ceiling
    except ValueError:
        ok = False
    if ok:
        return None
    return Problem("meta", {"key": "now", "value": now}, "now outside year 1 … a day after now")


def _move(store: Any, problems: Iterable[Problem], at: int) -> None:
    _exec(store, QUARANTINE_SQL)
    for p in problems:
        row = json.dumps(p.row, ensure_ascii=True, default=str, sort_keys=True)
        _exec(
            store,
            "INSERT INTO quarantine (table_name, row_json, reason, quarantined_at)"
            " VALUES (?, ?, ?, ?)",
            [p.table, row, p.reason, at],
        )
        columns = TABLES[p.table][0] if p.table != "meta" else ("key",)
        where = " AND ".join(f"{c} = ?" for c in columns)
        _exec(store, f"DELETE FROM {p.table} WHERE {where}", list(p.key()))


def _latest_time(store: Any, ceiling: int) -> int | None:
    rows = _fetch(
        store,
        "SELECT MAX(taken_at) FROM posts WHERE taken_at >= ? AND taken_at <= ?",
        [TIME_MIN, ceiling],
    )
    return None if not rows or rows[0][0] is None else int(rows[0][0])


class _DryRun(Exception):
    """Raised to roll the transaction of a report-only run back; carries what it found."""

    def __init__(self, found: list[Problem]) -> None:
        super().__init__("dry run")
        self.found = found


def _run(store: Any, *, fix: bool, now: int | None) -> list[Problem]:
    at = int(time.time()) if now is None else now
    ceiling = min(at + FUTURE_SLACK, TIME_MAX)
    moved: list[Problem] = []
    with store.transaction():
        # Moving a row can leave others dangling (an account's posts): repeat until clean.
        for _ in range(len(TABLES) + 1):
            problems = _scan(store, ceiling)
            if not problems:
                break
            moved.extend(problems)
            _move(store, problems, at)
        bad_now = _now_problem(store, ceiling)
        if bad_now is not None:
            moved.append(bad_now)
            _move(store, [bad_now], at)
            latest = _latest_time(store, ceiling)
            if latest is not None:
                store.set_meta("now", latest)
        if moved:
            # A snapshot cache made before the fix would keep the poisoned rows: a new store id
            # makes every process load afresh (a running server: restart it).
            store.set_meta("store_id", uuid.uuid4().hex)
        if not fix:
            raise _DryRun(moved)  # report only: the same work, rolled back
    return moved


def diagnose(store: Any, *, now: int | None = None) -> list[Problem]:
    """Every row :func:`repair` would move (dependents included); changes nothing.

    ``now`` is the clock (Unix seconds; the wall clock when None): times more than a day past
    it, or outside years 1 … 9999, are refused.
    """
    try:
        return _run(store, fix=False, now=now)
    except _DryRun as done:
        return done.found


def repair(store: Any, *, now: int | None = None) -> list[Problem]:
    """Move every problem row (and its dependents) into ``quarantine`` in one transaction;
    returns what was moved."""
    return _run(store, fix=True, now=now)
