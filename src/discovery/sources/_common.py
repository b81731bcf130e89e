"""Pieces every importer shares: value parsers, bad-row collection and the import summary."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import InputError
from ..store import Store, from_iso, to_iso
from ..store.validate import BadValue, brief, check_number

__all__ = [
    "BadRows",
    "ImportSummary",
    "missing_accounts",
    "missing_posts",
    "parse_float",
    "parse_int",
    "parse_time",
]

_NUMBER = re.compile(r"[+-]?\d+(\.\d*)?")


_LONGEST_NUMBER = 100  # characters; longer cells are refused before int() reads them


def parse_int(text: str, what: str) -> int:
    """An integer cell; :class:`BadValue` (a ``ValueError``) naming the field otherwise.

    The range is the caller's to check (ids and counts have different ones).

    >>> parse_int(" 17 ", "dst")
    17
    >>> parse_int("abc", "dst")
    Traceback (most recent call last):
    discovery.store.validate.BadValue: dst: 'abc' is not an integer
    """
    if len(text) <= _LONGEST_NUMBER:
        try:
            return int(text)  # int() itself allows surrounding white space
        except ValueError:
            pass
    raise BadValue(what, f"{brief(text)} is not an integer")


def parse_float(text: str, what: str) -> float:
    """A finite number cell that float32 can hold.

    >>> parse_float("2.5", "value")
    2.5
    """
    if len(text) > _LONGEST_NUMBER:
        raise BadValue(what, f"{brief(text)} is not a number")
    return check_number(text, what)


def parse_time(text: str, what: str) -> int:
    """Unix seconds (an integer or decimal) or ISO-8601 (naive means UTC) → Unix seconds.

    The window (:func:`discovery.store.validate.check_time`) is the caller's to check.

    >>> parse_time("86400", "created_at"), parse_time("1970-01-02T00:00:00Z", "created_at")
    (86400, 86400)
    >>> parse_time("1970-01-02", "t"), parse_time("86400.9", "t")
    (86400, 86400)
    >>> parse_time("1e999", "t")
    Traceback (most recent call last):
    discovery.store.validate.BadValue: t: '1e999' is not Unix seconds or ISO-8601
    """
    if len(text) <= _LONGEST_NUMBER:
        try:
            return int(text)  # the common case first
        except ValueError:
            pass
        t = text.strip()
        if _NUMBER.fullmatch(t):
            number = float(t)
            if math.isfinite(number):
                return int(t) if t.lstrip("+-").isdigit() else int(number)
        try:
            return from_iso(t)
        except (ValueError, OverflowError):
            pass
    raise BadValue(what, f"{brief(text)} is not Unix seconds or ISO-8601")


class BadRows:
    """Collects ``file:line: message`` problems; :meth:`check` raises the first as one line."""

    def __init__(self) -> None:
        self.first: str | None = None
        self.count = 0

    def add(self, where: str, message: str) -> None:
        self.count += 1
        if self.first is None:
            self.first = f"{where}: {message}"

    def check(self) -> None:
        if self.first is None:
            return
        more = self.count - 1
        tail = f" (and {more} more bad row{'s' if more > 1 else ''})" if more else ""
        raise InputError(self.first + tail)


@dataclass
class ImportSummary:
    """What an import read and what was new in the database.

    ``rows`` holds ``(what, read, new)`` lines for the summary table (``read`` is None where
    nothing is read directly, e.g. hashtag links parsed from captions); ``notes`` explains rows
    that were dropped or adjusted; ``first``/``last`` are the time span (Unix seconds) seen;
    ``skipped`` counts entries left out per row (importers that skip bad entries instead of
    stopping, like the Instagram export's).
    """

    dataset: str
    rows: list[tuple[str, int | None, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    first: int | None = None
    last: int | None = None

    def add(self, what: str, read: int | None, new: int) -> None:
        self.rows.append((what, read, new))

    def new(self, what: str) -> int:
        """New rows written for ``what`` (0 when absent)."""
        return sum(n for w, _, n in self.rows if w == what)

    def seen(self, t: int) -> None:
        self.first = t if self.first is None else min(self.first, t)
        self.last = t if self.last is None else max(self.last, t)

    def span(self) -> str:
        if self.first is None or self.last is None:
            return "-"
        return f"{to_iso(self.first)} … {to_iso(self.last)}"


def missing_accounts(store: Store, ids: Iterable[int]) -> set[int]:
    """The ``ids`` that the database has no account for."""
    wanted = sorted(set(ids))
    return set(wanted) - set(store.account_details(wanted))


def missing_posts(store: Store, ids: Iterable[int]) -> set[int]:
    """The ``ids`` that the database has no post for."""
    wanted = sorted(set(ids))
    return set(wanted) - set(store.post_details(wanted))
