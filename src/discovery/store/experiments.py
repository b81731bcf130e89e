"""Experiments and the impression log: what was served to whom, by which arm, and what came of it.

Two tables of schema 3. ``experiments`` holds one row per experiment (its definition as JSON,
validated by :mod:`discovery.experiments.model` before it gets here). ``impression_log`` holds
one row per served feed item, for every feed (not only experiments: a learned ranker trains on
them). Impressions are bookkeeping no snapshot reads, so, like a token's ``last_used``, they are
written outside the change counter: one multi-row ``INSERT`` per served page, which neither
wakes other workers nor makes the next request catch its snapshot up.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from .core import StoreCore
from .errors import StoreError
from .model import KIND_CODE

__all__ = [
    "ExperimentConflict",
    "ExperimentRecord",
    "ExperimentsMixin",
    "ImpressionRow",
    "UserArmTotals",
]

#: Columns of ``impression_log`` that :class:`ImpressionRow` fills, in its field order.
IMPRESSION_COLUMNS = (
    "account", "post", "served_at", "surface", "position", "request",
    "experiment", "arm", "ranker", "score", "features",
)  # fmt: skip
_ROWS_PER_INSERT = 500  # 11 parameters each: far below SQLite's 32,766 variables


class ExperimentConflict(StoreError):
    """The experiment's name is taken, or another experiment is running."""


@dataclass(frozen=True, slots=True)
class ExperimentRecord:
    """An ``experiments`` row: ``body`` is the definition as JSON text."""

    name: str
    body: str
    created_at: int
    stopped_at: int | None


@dataclass(frozen=True, slots=True)
class ImpressionRow:
    """One served feed item (``account`` and ``post`` are store ids; ``position`` 0-based in
    the whole paged feed; ``features`` a JSON object of the score factors)."""

    account: int
    post: int
    served_at: int
    surface: str
    position: int
    request: str = ""
    experiment: str = ""
    arm: str = ""
    ranker: str = ""
    score: float | None = None
    features: str = ""


@dataclass(frozen=True, slots=True)
class UserArmTotals:
    """What one user did with one arm's impressions of one experiment.

    Each (user, post) pair counts once from its first impression on: ``engagements`` are the
    user's likes, saves and comments on those posts at or after it, ``outside`` those on posts
    whose author the user did not follow then, ``hides`` the hides, ``credited`` the posts
    clicked or liked (team-draft credit), ``impressions`` every served row."""

    account: int
    arm: str
    impressions: int
    engagements: int
    outside: int
    hides: int
    credited: int


def _codes(*kinds: str) -> str:
    return ", ".join(str(KIND_CODE[k]) for k in kinds)


# Per (user, arm, post) from its first impression, then summed per (user, arm). The follow
# test uses follows.created_at: an account followed after the impression still counts as
# outside the network (an unfollow since is not known and reads as never followed).
_TOTALS = f"""
WITH shown AS (
    SELECT account, arm, post, MIN(served_at) AS first, COUNT(*) AS n
    FROM impression_log WHERE experiment = ? GROUP BY account, arm, post
), per AS (
    SELECT s.account, s.arm, s.n,
        (SELECT COUNT(*) FROM interactions i WHERE i.account = s.account AND i.post = s.post
            AND i.kind IN ({_codes("like", "save", "comment")}) AND i.created_at >= s.first) AS eng,
        (SELECT COUNT(*) FROM interactions i WHERE i.account = s.account AND i.post = s.post
            AND i.kind = {KIND_CODE["hide"]} AND i.created_at >= s.first) AS hid,
        CASE WHEN EXISTS (SELECT 1 FROM interactions i WHERE i.account = s.account
            AND i.post = s.post AND i.kind IN ({_codes("click", "like")})
            AND i.created_at >= s.first) THEN 1 ELSE 0 END AS cred,
        CASE WHEN EXISTS (SELECT 1 FROM posts p JOIN follows f ON f.dst = p.author
            WHERE p.id = s.post AND f.src = s.account AND f.created_at <= s.first)
            THEN 0 ELSE 1 END AS outside
    FROM shown s
)
SELECT account, arm, SUM(n), SUM(eng), SUM(eng * outside), SUM(hid), SUM(cred)
FROM per GROUP BY account, arm ORDER BY account, arm
"""


class ExperimentsMixin(StoreCore):
    """Create, list and stop experiments; log impressions; per-user, per-arm outcomes."""

    # ------------------------------------------------------------ experiments
    def create_experiment(
        self, name: str, body: str, created_at: int | None = None, *, alone: bool = True
    ) -> None:
        """Add an experiment (its own transaction, so two workers cannot both pass the checks);
        :class:`ExperimentConflict` when the name exists or, with ``alone``, another
        experiment is running."""
        at = int(time.time()) if created_at is None else int(created_at)
        with self.transaction():
            if self._fetch("SELECT 1 FROM experiments WHERE name = ?", (name,)):
                raise ExperimentConflict(f"experiment {name!r} already exists")
            running = self._fetch("SELECT name FROM experiments WHERE stopped_at IS NULL")
            if alone and running:
                raise ExperimentConflict(f"experiment {running[0][0]!r} is running; stop it first")
            self._exec(
                "INSERT INTO experiments (name, body, created_at) VALUES (?, ?, ?)",
                (name, body, at),
            )

    def experiments(self, *, running: bool = False) -> list[ExperimentRecord]:
        """Every experiment (or only those not stopped), oldest first."""
        sql = "SELECT name, body, created_at, stopped_at FROM experiments"
        if running:
            sql += " WHERE stopped_at IS NULL"
        rows = self._fetch(sql + " ORDER BY created_at, name")
        return [
            ExperimentRecord(str(n), str(b), int(c), None if s is None else int(s))
            for n, b, c, s in rows
        ]

    def experiment(self, name: str) -> ExperimentRecord | None:
        """One experiment by name; None when unknown."""
        return next((e for e in self.experiments() if e.name == name), None)

    def stop_experiment(self, name: str, at: int | None = None) -> bool:
        """Stop a running experiment (its own transaction); False when unknown or stopped."""
        when = int(time.time()) if at is None else int(at)
        with self.transaction():
            changed = self._exec(
                "UPDATE experiments SET stopped_at = ? WHERE name = ? AND stopped_at IS NULL",
                (when, name),
            )
        return changed > 0

    # ------------------------------------------------------------ impressions
    def log_impressions(self, rows: Sequence[ImpressionRow]) -> int:
        """Append impressions: one ``INSERT`` per 500 rows, outside the change counter (in
        autocommit, or inside the caller's transaction); how many were written."""
        cols = ", ".join(IMPRESSION_COLUMNS)
        one = "(" + ", ".join("?" * len(IMPRESSION_COLUMNS)) + ")"
        written = 0
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            # getattr, not dataclasses.astuple: that deep-copies every field (a third of
            # the cost of logging a served page)
            params = [getattr(row, c) for row in chunk for c in IMPRESSION_COLUMNS]
            sql = f"INSERT INTO impression_log ({cols}) VALUES {', '.join([one] * len(chunk))}"
            changed, _ = self._run(sql, params)  # not _exec: no change-counter advance
            written += changed
        return written

    def impressions(
        self, *, experiment: str | None = None, account: int | None = None
    ) -> list[ImpressionRow]:
        """Logged impressions, in the order they were written (optionally of one experiment
        and/or one account)."""
        where: list[str] = []
        params: list[object] = []
        if experiment is not None:
            where.append("experiment = ?")
            params.append(experiment)
        if account is not None:
            where.append("account = ?")
            params.append(int(account))
        sql = f"SELECT {', '.join(IMPRESSION_COLUMNS)} FROM impression_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._fetch(sql + " ORDER BY id", params)
        return [
            ImpressionRow(
                int(a), int(p), int(t), str(s), int(pos), str(r), str(e), str(arm), str(rk),
                None if sc is None else float(sc), str(f),
            )
            for a, p, t, s, pos, r, e, arm, rk, sc, f in rows
        ]  # fmt: skip

    def experiment_totals(self, name: str) -> list[UserArmTotals]:
        """Per (user, arm) outcomes of an experiment's impressions (see :class:`UserArmTotals`),
        ordered by user and arm: the units per-arm metrics and preferences are computed over."""
        out = []
        for account, arm, n, eng, outside, hides, credited in self._fetch(_TOTALS, (name,)):
            out.append(
                UserArmTotals(
                    int(account), str(arm), int(n), int(eng or 0), int(outside or 0),
                    int(hides or 0), int(credited or 0),
                )
            )  # fmt: skip
        return out
