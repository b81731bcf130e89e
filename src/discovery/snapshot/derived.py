"""The registry of structures derived from a snapshot, each with the inputs it was built from.

A derived structure (an id index, the follow matrix, post statistics, an embedding index) is
built on first use by :meth:`Snapshot.derive <discovery.snapshot.Snapshot.derive>` and kept
until one of the inputs it *declared* changes::

    snap.derive("tag_posts", build, depends_on=("posts", "tags"))

An input is one of

* a table of the snapshot (:data:`TABLES`): the structure is dropped on any change of it;
* a :class:`Lag` on a table: dropped only once the table changed by more than a share of the
  rows it held when the structure was built (:data:`INTERACTIONS_LAG`, :data:`FOLLOWS_LAG`,
  :data:`WEIGHTS_LAG`);
* a :class:`Grows` table: the structure takes the table's appended rows in through its
  ``extend`` function on its next use (a new post must be findable at once, and rebuilding
  twenty post structures for it took 7 s on the large world); dropped when rows of the table
  were changed in place instead (a deleted post, a removed hashtag link), or when ``extend``
  declines;
* the key of another derived structure: dropped whenever that one is (transitively).

A lagging structure may also give a *catch-up* function (``catch_up(value, snap, at)``: the
value a build on ``snap`` would make, from ``value``, which took in the interaction log as it
was at ``at``, a :class:`~.grow.LogAt`). When its lag runs out in a server, the rebuild beside
(:mod:`.rebuild`) runs it on the rows appended since and the rows withdrawn since (an unlike, a
deleted post's likes: :meth:`Snapshot.withdrawn_since`), instead of a build over the whole log:
on the large world the log's structures took 10–22 s of a serving worker every ~8 minutes at
2,000 events/s, and every unlike dropped them all, to be built on the next request. A withdrawn
row counts as one change toward a lag on the log, as an appended one does.

The registry keeps no knowledge of particular keys: a new index declares its inputs where it is
built, and is invalidated exactly when they change.

A structure registered with a *rebuild* function of the snapshot
(:meth:`Snapshot.derive_of <discovery.snapshot.Snapshot.derive_of>`) may instead be rebuilt
beside the serving one when only its lag ran out: with :attr:`Derived.beside` set (a server),
such an entry is marked stale and keeps serving until :mod:`.rebuild` swaps in its successor,
built on a frozen copy of the snapshot off the request path. A change of a table it reads
exactly still drops it at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

__all__ = [
    "FOLLOWS_LAG",
    "FOLLOW_REBUILD_SHARE",
    "INTERACTIONS_LAG",
    "TABLES",
    "WEIGHTS_LAG",
    "Dependency",
    "Derived",
    "Grows",
    "Growth",
    "Lag",
]

T = TypeVar("T")

#: The snapshot's inputs, as a catch-up reports them changed.
TABLES = ("accounts", "follows", "posts", "tags", "interactions")

#: Follow-graph structures are rebuilt once more than this share of the follow edges changed
#: since they were built — on a million-account world a rebuild takes seconds, and a stream of
#: follow events would otherwise rebuild them on every catch-up. In between, a user's own
#: follows stay exact: :meth:`Snapshot.following` applies the changes since the build, and
#: ``ranking.own_row`` puts them in the user's own PageRank. 0.1 %: on the demo world the
#: served explore top-20 keeps 0.9968 overlap with a fresh engine's (0.9973 at 0.01 %,
#: ``bench/staleness.py --follow-shares``); on the large world under load a rebuild comes
#: every ~17 minutes instead of every ~100 s.
FOLLOW_REBUILD_SHARE = 1e-3


@dataclass(frozen=True)
class Lag:
    """A table input that may lag: the structure is rebuilt once more than
    ``share · rows + slack`` rows of ``table`` changed since it was built (``rows``: the
    table's size at the build).

    >>> Lag("interactions", share=0.02, slack=1000).stale(changes=1_100, rows=5_000)
    False
    >>> Lag("interactions", share=0.02, slack=1000).stale(changes=1_101, rows=5_000)
    True
    """

    table: str
    share: float
    slack: int = 0

    def stale(self, changes: int, rows: int) -> bool:
        return changes > self.share * rows + self.slack


#: Click counts, priors and engagement pairs may lag the interaction log by 2 % (plus 1,000
#: rows); a user's own interactions never do (:meth:`Snapshot.user_interactions` reads the tail).
INTERACTIONS_LAG = Lag("interactions", share=0.02, slack=1000)

#: Follow-graph structures lag by :data:`FOLLOW_REBUILD_SHARE` of the edges (added or removed).
FOLLOWS_LAG = Lag("follows", share=FOLLOW_REBUILD_SHARE)

#: The like-weighted follow graph lags the interaction log by 5 % (plus 1,000 rows): an edge
#: weighs 1 + the follower's likes and comments on the followed account's posts. Rebuilt with
#: every catch-up of the engagement pairs (2 %), the graph and its PageRank index (and every
#: cached PageRank vector they moved) were rebuilt every ~8-12 minutes of the large world's
#: load of 2,000 events/s; at 5 % that is ~20-29 minutes.
#: The cost, on the demo world's own history (``bench/weights_lag.py``): explore's top-20
#: keeps 0.972 overlap with a fresh engine's when the lag is about to run out (0.984 at 2 %,
#: 0.955 at 10 %). A user's own row is weighted from their own interactions, which never lag
#: (``ranking.own_row``).
WEIGHTS_LAG = Lag("interactions", share=0.05, slack=1000)


@dataclass(frozen=True)
class Grows:
    """A table input of which the structure takes appended rows without a rebuild.

    A structure declared with ``Grows(table)`` has an ``extend(value, snap, since)`` function
    (:meth:`Snapshot.derive_of <discovery.snapshot.Snapshot.derive_of>`): ``since`` is what
    ``snap.sizes()`` returned when ``value`` was built or last extended, and ``extend`` returns
    the value a build on ``snap`` would make — without changing ``value``, which a rebuild
    beside may still read — or None when it cannot (rows appended that touch old ones: a
    hashtag added to an old post's caption), and the structure is rebuilt. It runs on the
    structure's next use after rows were appended. A change of rows in place (the snapshot's
    ``edits(table)`` moved) drops the structure, as a plain table input would."""

    table: str


class Growth(Protocol):
    """What the registry reads of a snapshot for :class:`Grows` inputs."""

    def edits(self, table: str) -> int: ...

    def sizes(self) -> Any: ...

    def log_at(self) -> Any: ...


#: What ``depends_on`` accepts: a table name, a :class:`Lag`, a :class:`Grows`, or another
#: derived key.
Dependency = str | Lag | Grows

#: Serial numbers of builds: an extended structure keeps its build's (see Entry.origin).
_BUILDS = itertools.count(1)


@dataclass
class Entry:
    value: Any
    tables: frozenset[str]
    lags: tuple[Lag, ...]
    marks: tuple[tuple[int, int], ...]  # per lag: (change count, rows) when built
    keys: frozenset[str]  # derived inputs
    rebuild: Callable[[Any], Any] | None = None  # of a snapshot: what .rebuild runs beside
    stale: bool = False  # its lag ran out; serving until a rebuild beside replaces it
    grows: tuple[str, ...] = ()  # Grows tables
    grown: tuple[tuple[int, int], ...] = ()  # per Grows table: (edits, rows) the value is at
    since: Any = None  # the snapshot's sizes() the value is at, passed to extend
    extend: Callable[[Any, Any, Any], Any] | None = None  # (value, snapshot, since) -> value
    origin: int = 0  # the build this value comes from, kept by extensions (.rebuild's identity)
    catch_up: Callable[[Any, Any, Any], Any] | None = None  # (value, snapshot, LogAt) -> value
    log_at: Any = None  # grow.LogAt: the log the value has taken in (where catch_up starts)


class Derived:
    """Derived structures by key, with their declared inputs (see the module docstring).

    ``clock(table)`` returns ``(changes, rows)``: a count that grows with every row of
    ``table`` added or removed, and the table's size now — what a :class:`Lag` measures. It is
    passed in, not kept: the registry holds no reference back to its snapshot.

    >>> sizes = {"interactions": 0}
    >>> clock = lambda table: (sizes.get(table, 0), sizes.get(table, 0))
    >>> reg = Derived()
    >>> reg.get_or_build("clicks", lambda: "v1", (INTERACTIONS_LAG,), clock)
    'v1'
    >>> reg.get_or_build("top", lambda: "t1", ("clicks", "posts"), clock)
    't1'
    >>> sizes["interactions"] = 1000
    >>> reg.invalidate({"interactions"}, clock), reg.keys()
    ([], ['clicks', 'top'])
    >>> sizes["interactions"] = 1001
    >>> reg.invalidate({"interactions"}, clock)
    ['clicks', 'top']
    """

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        #: Keep lag-stale entries that have a rebuild function, marked stale, instead of
        #: dropping them (a server that rebuilds them beside: :mod:`.rebuild`).
        self.beside = False

    def get_or_build(
        self,
        key: str,
        build: Callable[[], T],
        depends_on: Iterable[Dependency],
        clock: Callable[[str], tuple[int, int]],
        rebuild: Callable[[Any], T] | None = None,
        *,
        extend: Callable[[Any, Any, Any], T | None] | None = None,
        growth: Growth | None = None,
        catch_up: Callable[[Any, Any, Any], T | None] | None = None,
    ) -> T:
        entry = self._entries.get(key)
        if entry is not None:
            if not entry.grows:
                return entry.value  # type: ignore[no-any-return]
            assert growth is not None, f"{key} grows: derive it with its snapshot"
            entry = self._grow(key, entry, clock, growth)
            if entry is not None:
                return entry.value  # type: ignore[no-any-return]
        tables, lags, grows, keys = _split(key, depends_on)
        if grows and (extend is None or growth is None):
            raise ValueError(f"{key}: a Grows input needs an extend function")
        if catch_up is not None and (
            growth is None or all(g.table != "interactions" for g in lags)
        ):
            raise ValueError(f"{key}: a catch-up is for a structure lagging the interaction log")
        log_at = growth.log_at() if catch_up is not None and growth else None
        value = build()
        if keys <= self._entries.keys():  # else built on an input dropped meanwhile: not kept
            for k in keys:  # what grows under it must grow with it, or be dropped with its table
                if missing := set(self._entries[k].grows) - set(grows) - tables:
                    raise ValueError(f"{key} is built on {k}: declare Grows of {sorted(missing)}")
            marks = tuple(clock(lag.table) for lag in lags)
            grown = tuple((growth.edits(t), clock(t)[1]) for t in grows) if growth else ()
            since = growth.sizes() if grows and growth else None
            self._entries[key] = Entry(
                value, tables, lags, marks, keys, rebuild, False, grows, grown, since, extend,
                next(_BUILDS), catch_up, log_at,
            )  # fmt: skip
        return value

    def _grow(
        self, key: str, entry: Entry, clock: Callable[[str], tuple[int, int]], growth: Growth
    ) -> Entry | None:
        """``entry`` brought up to the snapshot's rows (extended, and put in its place), or
        None when it had to be dropped (rows edited in place, or ``extend`` declined)."""
        grown = tuple((growth.edits(t), clock(t)[1]) for t in entry.grows)
        if grown == entry.grown:
            return entry
        value = None
        if all(g[0] == e[0] for g, e in zip(grown, entry.grown, strict=True)):
            assert entry.extend is not None
            value = entry.extend(entry.value, growth, entry.since)
        if self._entries.get(key) is not entry:
            return None  # what it reads declined to grow, and dropped it: rebuilt
        if value is None:
            self._drop({key})
            return None
        self._entries[key] = new = replace(entry, value=value, grown=grown, since=growth.sizes())
        return new

    def stale(self) -> list[str]:
        """Keys kept past their lag, waiting for a rebuild beside (see :attr:`beside`)."""
        return [k for k, e in self._entries.items() if e.stale]

    def get(self, key: str) -> Any:
        """The structure under ``key`` if it is built, else None (never builds)."""
        entry = self._entries.get(key)
        return None if entry is None else entry.value

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def keys(self) -> list[str]:
        return list(self._entries)

    def depends_on(self, key: str) -> tuple[Dependency, ...]:
        """The inputs ``key`` was declared with (tables, lags, derived keys)."""
        e = self._entries[key]
        return (*sorted(e.tables), *e.lags, *(Grows(t) for t in e.grows), *sorted(e.keys))

    def drop(self, key: str) -> list[str]:
        """Drop ``key`` and every structure built on it; returns the keys dropped."""
        return self._drop({key} & self._entries.keys())

    def clear(self) -> None:
        self._entries.clear()

    def invalidate(
        self,
        changed: Collection[str],
        clock: Callable[[str], tuple[int, int]],
        edits: Growth | None = None,
    ) -> list[str]:
        """Drop what the tables in ``changed`` make stale: structures that depend on one of them,
        lagging ones past their tolerance, growing ones whose table was edited in place (per
        ``edits``; appended rows are taken in on use), and (transitively) what was built on
        those."""
        now: dict[str, tuple[int, int]] = {}
        stale = set()
        for key, e in list(self._entries.items()):
            if not e.tables.isdisjoint(changed):
                stale.add(key)
                continue
            if edits is not None and any(
                t in changed and edits.edits(t) != g[0]
                for t, g in zip(e.grows, e.grown, strict=True)
            ):
                stale.add(key)  # rows changed in place: not an extension
                continue
            if e.stale:
                continue
            for lag, (built, rows) in zip(e.lags, e.marks, strict=True):
                if lag.table not in now:
                    now[lag.table] = clock(lag.table)
                if lag.stale(now[lag.table][0] - built, rows):
                    if self.beside and e.rebuild is not None:
                        e.stale = True  # keeps serving; .rebuild replaces it
                    else:
                        stale.add(key)
                    break
        return self._drop(stale)

    def withdrawn(self) -> list[str]:
        """Rows of the interaction log were withdrawn (an unlike, a deleted post's likes): what
        reads the log exactly or grows with it is dropped, with what was built on it. What lags
        the log stays: each withdrawn row counts as one change toward its lag, as an appended
        one does (the snapshot's clock of the log counts both), and the catch-up or rebuild
        when the lag runs out takes it in. Marking those stale at every unlike, as this did
        before, kept the large world's rebuild beside busy without pause at 10 unlikes a
        second, and the service saturated (``bench/README.md``, "The open loop, 2026-12-05").
        Returns the keys dropped."""
        stale = {
            key
            for key, e in self._entries.items()
            if "interactions" in e.tables or "interactions" in e.grows
        }
        return self._drop(stale)

    def with_dependents(self, keys: Collection[str]) -> set[str]:
        """``keys`` and every structure built on one of them, transitively."""
        out = set(keys)
        grew = bool(out)
        while grew:  # a few dozen entries: a fixpoint is cheaper than a reverse index
            more = {k for k, e in list(self._entries.items()) if k not in out and e.keys & out}
            out |= more
            grew = bool(more)
        return out

    # what .rebuild reads and writes: entries as objects (identity tells "unchanged")
    def entry(self, key: str) -> Entry | None:
        return self._entries.get(key)

    def entries(self) -> dict[str, Entry]:
        return dict(self._entries)

    def put(self, key: str, entry: Entry) -> None:
        self._entries[key] = entry

    def _drop(self, stale: set[str]) -> list[str]:
        stale = self.with_dependents(stale)
        dropped = [k for k in self._entries if k in stale]
        for k in dropped:
            del self._entries[k]
        return dropped


def _split(
    key: str, depends_on: Iterable[Dependency]
) -> tuple[frozenset[str], tuple[Lag, ...], tuple[str, ...], frozenset[str]]:
    """Sort declared inputs into tables, lags, growing tables and derived keys (a misspelt
    table is an error; a derived key that is not built when the structure is, keeps it from
    being kept)."""
    if key in TABLES:
        raise ValueError(f"derived key {key!r} is a table name")
    tables: set[str] = set()
    lags: list[Lag] = []
    grows: set[str] = set()
    keys: set[str] = set()
    for dep in depends_on:
        if isinstance(dep, Lag | Grows):
            if dep.table not in TABLES:
                raise ValueError(f"{key}: {type(dep).__name__} on unknown table {dep.table!r}")
            if isinstance(dep, Lag):
                lags.append(dep)
            else:
                grows.add(dep.table)
        elif dep in TABLES:
            tables.add(dep)
        elif dep == key:
            raise ValueError(f"{key} depends on itself")
        else:
            keys.add(dep)
    grown = tuple(sorted(grows))
    if both := tables & set(grown):
        raise ValueError(f"{key}: {sorted(both)} declared both exact and Grows")
    return frozenset(tables), tuple(lags), grown, frozenset(keys)
