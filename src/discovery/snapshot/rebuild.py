"""Rebuild lag-stale derived structures beside the serving ones, then swap them in.

On the million-account world the follow-graph structures take 0.6–1.8 s to rebuild and those
built on the interaction log ~15 s (the adjacency, exposure counts, engaged columns, …). Built
on the request that first found their lag run out, they held the engine's lock that long, and an
open loop of 100 feeds/s piled hundreds of requests behind it (``bench/README.md``, "Serving
from the lists"). A server therefore sets :attr:`Derived.beside <.derived.Derived.beside>`: a
structure registered with :meth:`Snapshot.derive_of <.arrays.Snapshot.derive_of>` whose lag ran
out is marked stale and keeps serving, and a :class:`Rebuilder` thread

1. takes, under the engine's lock, a frozen copy of the snapshot (:meth:`Snapshot.frozen`: it
   shares the arrays, O(1)) with every entry that is not stale nor built on a stale one, and
   notes the lag clocks (:func:`begin`);
2. rebuilds, without the lock, each stale entry and what was built on it, on that copy
   (:meth:`Job.build`) — requests keep being answered meanwhile; an entry with a catch-up
   (:mod:`.derived`) instead takes in the interaction rows appended and withdrawn since;
3. swaps in, under the lock again, each rebuilt entry whose inputs did not change exactly in
   between (:meth:`Job.finish`).

What is swapped in is the structure a rebuild at the copy's moment makes, with its lag clock
set to that moment, so it lags the store by less than its declared tolerance plus one rebuild's
time. An entry whose table changed exactly meanwhile (a new post it reads exactly) is not
installed: the registry drops it as it would have without a rebuild beside, and the next use
builds it; one lagging the interaction log that rows were withdrawn from meanwhile (an unlike)
is installed with the copy's clock, so those withdrawals count toward its next lag and the
catch-up after it takes them in. A value that tracks
changes since its build (the follow graph's overlay of a user's own follows) takes over what
the old one noted through its ``adopt(old)`` method.

Batch jobs, evaluations and simulations never set ``beside``: their results stay exactly those
of a rebuild on use.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .derived import TABLES, Dependency, Entry, Grows

if TYPE_CHECKING:
    from .arrays import Snapshot

__all__ = ["Job", "RebuildStats", "Rebuilder", "begin"]

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One rebuild beside: the frozen copy, the live entries it replaces and what the live
    registry looked like when it started."""

    copy: Snapshot
    targets: dict[str, Entry]  # live entries (stale ones and those built on them) at the start
    clocks: dict[str, tuple[int, int]]  # per table, the live lag clock at the start
    installed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    caught: list[str] = field(default_factory=list)  # targets caught up, not rebuilt

    def build(self) -> None:
        """Build every target that has a rebuild function on the copy (what a target reads
        that is not built yet is built there too, through the copy's own registry). A target
        with a catch-up (:class:`~.derived.Entry`) instead takes in the log's rows appended and
        withdrawn since its value, first, so what is built on it reads the caught-up value."""
        order = sorted(self.targets.items(), key=lambda item: item[1].catch_up is None)
        for key, entry in order:
            if entry.rebuild is None or key in self.copy.derived:
                continue
            depends: list[Dependency] = [*entry.tables, *entry.lags, *entry.keys]
            depends += [Grows(t) for t in entry.grows]
            value = self._caught_up(entry)
            if value is None:
                self.copy.derive_of(
                    key, entry.rebuild, depends_on=depends, extend=entry.extend,
                    catch_up=entry.catch_up,
                )  # fmt: skip
                continue
            self.caught.append(key)
            self.copy.derived.get_or_build(
                key, _given(value), depends, self.copy._clock, entry.rebuild,
                extend=entry.extend, growth=self.copy, catch_up=entry.catch_up,
            )  # fmt: skip

    def _caught_up(self, entry: Entry) -> Any:
        """``entry``'s value brought up to the copy by its catch-up (its growing tables
        extended first), or None where it has none, reads a structure rebuilt here, or
        declines."""
        copy = self.copy
        if entry.catch_up is None or not entry.keys.isdisjoint(self.targets):
            return None
        value = entry.value
        grown = tuple((copy.edits(t), copy._clock(t)[1]) for t in entry.grows)
        if grown != entry.grown:
            if any(g[0] != e[0] for g, e in zip(grown, entry.grown, strict=True)):
                return None  # rows changed in place: the registry drops it anyway
            assert entry.extend is not None
            value = entry.extend(value, copy, entry.since)
            if value is None:
                return None
        return entry.catch_up(value, copy, entry.log_at)

    def finish(self, snap: Snapshot) -> None:
        """Swap the rebuilt entries into ``snap`` (caller holds its engine's lock); drop the
        targets that could not be: see the module docstring.

        A target is swapped only while its live entry is still the one the copy was taken
        beside (a catch-up that changed one of its tables exactly, or rewrote rows it reads,
        dropped it: the registry's own rules), and only when each structure it was built on is
        the live one too, shared with the copy or swapped in with it. "The one" is the same
        build: a growing structure extended meanwhile, here or on the copy, still is (the
        swapped-in value takes the rows appended since the copy on its next use)."""
        live, built = snap.derived, self.copy.derived
        ok: set[str] = set()
        pending = [k for k, old in self.targets.items() if _same(live.entry(k), old)]
        progress = True
        while progress:  # dependencies first: a few keys, so passes until nothing moves
            progress = False
            for key in list(pending):
                new = built.entry(key)
                if new is None:
                    continue
                if all(k in ok or _same(live.entry(k), built.entry(k)) for k in new.keys):
                    ok.add(key)
                    pending.remove(key)
                    progress = True
        for key in ok:
            old, new = self.targets[key], built.entry(key)
            assert new is not None
            adopt = getattr(new.value, "adopt", None)
            if callable(adopt):
                adopt(old.value)
            marks = tuple(self.clocks[lag.table] for lag in new.lags)
            live.put(key, replace(new, marks=marks))
        # what could not be swapped goes, as without a rebuild beside; so does what a request
        # built meanwhile on an entry that was just replaced
        stale = set(pending) | (live.with_dependents(ok) - ok)
        self.dropped = [k for k in stale if k in live]
        for key in self.dropped:
            live.drop(key)
        self.installed = sorted(ok)
        snap.invalidate(())  # lags measured from the copy may have run out again meanwhile

    def abandon(self, snap: Snapshot) -> None:
        """Drop the targets still in place (a failed build): the next use rebuilds them."""
        for key, old in self.targets.items():
            if _same(snap.derived.entry(key), old):
                snap.derived.drop(key)


def _given(value: Any) -> Any:
    """A build function that returns ``value`` (what was caught up)."""
    return lambda: value


def _same(a: Entry | None, b: Entry | None) -> bool:
    """The same build of a structure, extended or not (:attr:`Entry.origin`)."""
    return a is not None and b is not None and a.origin == b.origin


def begin(snap: Snapshot) -> Job | None:
    """Start a rebuild of ``snap``'s stale entries (caller holds its engine's lock); None when
    nothing is stale."""
    live = snap.derived
    stale = live.stale()
    if not stale:
        return None
    targets = live.with_dependents(stale)
    copy = snap.frozen()
    entries = live.entries()
    for key, entry in entries.items():
        if key not in targets:
            copy.derived.put(key, entry)  # shared, read by the builders as they are
    clocks = {table: snap._clock(table) for table in TABLES}
    return Job(copy, {k: entries[k] for k in entries if k in targets}, clocks)


@dataclass(frozen=True)
class RebuildStats:
    """What ``/metrics`` reports of a :class:`Rebuilder`."""

    done: int  # rebuilds swapped in
    failed: int  # builds that raised (their targets dropped, rebuilt on use)
    running: int  # 0 or 1
    last_seconds: float  # wall time of the last rebuild, start to swap
    stale: int  # entries past their lag, serving until swapped


class Rebuilder:
    """Runs :class:`Job` s one at a time on a daemon thread (see the module docstring).

    ``lock`` is the engine's: :meth:`poke` is called with it held (after a catch-up), and the
    thread takes it only to take the frozen copy and to swap. ``turns``: a context manager
    each rebuild holds from its copy to its swap, shared by the rebuilders that should not
    run at once (a server's: :class:`~.turns.MachineTurns`, one per machine); None: no
    waiting. ``nice``: on Linux, the rebuild thread lowers its own scheduling priority by
    this much (a thread is a task there; ``setpriority`` on its id touches no other), so the
    requests of every worker on the machine get the cores first and the rebuild takes what is
    left.
    """

    def __init__(self, lock: threading.RLock, turns: Any = None, nice: int = 0) -> None:
        self._lock = lock
        self._turns = turns if turns is not None else contextlib.nullcontext()
        self.nice = int(nice)
        self._thread: threading.Thread | None = None
        self.done = 0
        self.failed = 0
        self.last_seconds = 0.0
        self.last_installed: list[str] = []

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def poke(self, snap: Snapshot) -> bool:
        """Start rebuilding ``snap``'s stale entries unless a rebuild runs (or waits for its
        turn); True when started. The thread takes its frozen copy once its turn comes."""
        if self.running or not snap.derived.stale():
            return False
        self._thread = threading.Thread(
            target=self._run, args=(snap,), name="discovery-rebuild", daemon=True
        )
        self._thread.start()
        return True

    def stats(self, snap: Snapshot) -> RebuildStats:
        """Counts so far, and ``snap``'s stale entries (caller holds the engine's lock)."""
        n = len(snap.derived.stale())
        return RebuildStats(self.done, self.failed, int(self.running), self.last_seconds, n)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running rebuild (and any it chained); True when none runs."""
        while (thread := self._thread) is not None and thread.is_alive():
            thread.join(timeout)
            if thread.is_alive():
                return False
            if self._thread is thread:
                break
        return not self.running

    def _run(self, snap: Snapshot) -> None:
        if self.nice > 0 and sys.platform.startswith("linux"):
            tid = threading.get_native_id()
            os.setpriority(
                os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + self.nice)
            )
        while True:  # entries whose lag ran out while one job was building: the next, at once
            asked = time.perf_counter()
            with self._turns:  # other workers' rebuilds on this machine first
                started = time.perf_counter()
                with self._lock:
                    job = begin(snap)
                if job is None:
                    return
                try:
                    job.build()
                except Exception:  # a bug or memory: serve as without a rebuild beside
                    log.exception("rebuilding %s beside the snapshot failed", sorted(job.targets))
                    with self._lock:
                        job.abandon(snap)
                        self.failed += 1
                    return
                with self._lock:
                    job.finish(snap)
                    self.done += 1
                    self.last_seconds = time.perf_counter() - started
                    self.last_installed = job.installed
            log.info(
                "rebuilt %s (caught up %s) beside in %.2f s after %.2f s waiting for its turn,"
                " swapped in %d",
                sorted(job.targets),
                sorted(job.caught),
                self.last_seconds,
                started - asked,
                len(job.installed),
            )
