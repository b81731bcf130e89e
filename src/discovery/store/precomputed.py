"""Precomputed candidate lists (``discovery batch candidates``): per user and feed kind, the
ranked candidates a batch job computed at one snapshot counter, for serving to fall back on.

A list is **one row** (``candidate_lists``: the post ids and scores as packed little-endian
arrays, the sources and evidence as one JSON document each), not one row per candidate: for
the 100k users × 200 candidates of a large run that is 100k inserts instead of 20M, and serving
reads one row per feed. The JSON is encoded once, where the list is computed (a Ray worker),
so the driver that writes the lists does no per-candidate work (:meth:`CandidateList.build`).
A list also keeps the user's graph affinity at that counter — personalized PageRank of the
list's authors, the accounts the user follows and their nearest accounts — so that a feed
served from it does not run PageRank again.
:class:`PrecomputedRow` stays the per-candidate view (``explain``, Parquet, tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from .core import StoreCore
from .errors import StoreError

__all__ = ["CandidateList", "PrecomputedMixin", "PrecomputedRow"]

_I64 = np.dtype("<i8")
_F64 = np.dtype("<f8")


def _dumps(value: Any) -> str:
    """Compact JSON with sorted keys: what ``json.dumps(value, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)`` writes, up to the spelling of floats (both
    the shortest round trip) — orjson's, ~5x faster on a batch's 400 evidence objects a user."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()


@dataclass(frozen=True, slots=True)
class PrecomputedRow:
    """One candidate of one user's list.

    ``account`` and ``post`` are store ids; ``rank`` is 0-based; ``sources`` the candidate
    sources that proposed the post; ``evidence`` what each knew, as ``explain`` shows it
    (JSON-ready); ``counter`` the snapshot's change counter the list was computed at.
    """

    account: int
    kind: str
    rank: int
    post: int
    score: float
    sources: tuple[str, ...]
    evidence: dict[str, Any]
    counter: int
    computed_at: int


@dataclass(frozen=True, slots=True, eq=False)
class CandidateList:
    """One user's ranked list of one feed kind, as stored.

    ``posts`` (store ids, int64) and ``scores`` (float64) are arrays of the same length;
    ``sources_json`` and ``evidence_json`` hold, per candidate in rank order, the list of
    source names and the ``{source: evidence}`` object (decoded by :attr:`sources` and
    :attr:`evidence`); ``ppr_accounts`` (store ids, sorted) and ``ppr`` (float64) the user's
    personalized PageRank at those accounts. Build one with :meth:`build`, which checks the
    lengths and encodes.
    """

    account: int
    kind: str
    posts: np.ndarray
    scores: np.ndarray
    sources_json: str
    evidence_json: str
    counter: int
    computed_at: int
    ppr_accounts: np.ndarray = field(default_factory=lambda: np.zeros(0, _I64))
    ppr: np.ndarray = field(default_factory=lambda: np.zeros(0, _F64))

    @classmethod
    def build(
        cls,
        account: int,
        kind: str,
        posts: Sequence[int] | np.ndarray,
        scores: Sequence[float] | np.ndarray,
        sources: Sequence[Sequence[str]],
        evidence: Sequence[dict[str, Any]],
        counter: int,
        computed_at: int,
        ppr: Mapping[int, float] | tuple[np.ndarray, np.ndarray] | None = None,
    ) -> CandidateList:
        """``ppr`` maps account store ids to the user's PageRank (optional), or is the pair
        (unique ids sorted, values)."""
        p = np.asarray(posts, dtype=_I64).reshape(-1)
        s = np.asarray(scores, dtype=_F64).reshape(-1)
        if not len(p) == len(s) == len(sources) == len(evidence):
            raise ValueError(
                f"a candidate list needs one score, source list and evidence per post: "
                f"{len(p)} posts, {len(s)} scores, {len(sources)} sources, {len(evidence)} evidence"
            )
        return cls(
            int(account),
            str(kind),
            p,
            s,
            _dumps([list(x) for x in sources]),
            _dumps(list(evidence)),
            int(counter),
            int(computed_at),
            *(ppr if isinstance(ppr, tuple) else _ppr_arrays(ppr or {})),
        )

    def __len__(self) -> int:
        return len(self.posts)

    @property
    def sources(self) -> list[tuple[str, ...]]:
        return [tuple(x) for x in orjson.loads(self.sources_json)]

    @property
    def evidence(self) -> list[dict[str, Any]]:
        return [dict(x) for x in orjson.loads(self.evidence_json)]

    def rows(self) -> list[PrecomputedRow]:
        """The list as one :class:`PrecomputedRow` per candidate, by rank."""
        return [
            PrecomputedRow(
                self.account,
                self.kind,
                rank,
                int(post),
                float(score),
                src,
                ev,
                self.counter,
                self.computed_at,
            )
            for rank, (post, score, src, ev) in enumerate(
                zip(self.posts, self.scores, self.sources, self.evidence, strict=True)
            )
        ]

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.account,
            self.kind,
            len(self.posts),
            self.posts.astype(_I64, copy=False).tobytes(),
            self.scores.astype(_F64, copy=False).tobytes(),
            self.sources_json,
            self.evidence_json,
            self.counter,
            self.computed_at,
            self.ppr_accounts.astype(_I64, copy=False).tobytes(),
            self.ppr.astype(_F64, copy=False).tobytes(),
        )


def _ppr_arrays(ppr: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.array(sorted(ppr), dtype=_I64)
    return keys, np.array([ppr[int(k)] for k in keys], dtype=_F64)


_COLUMNS = (
    "account", "kind", "size", "posts", "scores", "sources", "evidence", "counter", "computed_at",
    "ppr_accounts", "ppr",
)  # fmt: skip


def _list(r: Sequence[Any]) -> CandidateList:
    """A stored row back into a list; a row whose arrays do not match its size (written by
    something else than this module) is a :class:`StoreError`, not a wrong feed."""
    size, posts, scores = int(r[2]), bytes(r[3]), bytes(r[4])
    keys, values = bytes(r[9]), bytes(r[10])
    if len(posts) != 8 * size or len(scores) != 8 * size or len(keys) != len(values):
        raise StoreError(
            f"candidate list of account {r[0]} ({r[1]}) is damaged: {size} candidates but "
            f"{len(posts)} bytes of posts and {len(scores)} of scores "
            f"({len(keys)} and {len(values)} of PageRank); "
            "run `discovery batch candidates` again"
        )
    return CandidateList(
        int(r[0]),
        str(r[1]),
        np.frombuffer(posts, dtype=_I64),
        np.frombuffer(scores, dtype=_F64),
        str(r[5]),
        str(r[6]),
        int(r[7]),
        int(r[8]),
        np.frombuffer(keys, dtype=_I64),
        np.frombuffer(values, dtype=_F64),
    )


class PrecomputedMixin(StoreCore):
    """Write and read precomputed candidate lists."""

    def replace_precomputed(
        self, kind: str, accounts: Iterable[int], lists: Iterable[CandidateList]
    ) -> int:
        """Replace the ``kind`` lists of ``accounts`` with ``lists`` (inside a transaction);
        how many candidates were written."""
        self._need_tx()
        ids = [int(a) for a in accounts]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            self._exec(
                f"DELETE FROM candidate_lists WHERE kind = ? AND account IN ({marks})",
                (kind, *chunk),
            )
        written = [lst for lst in lists if lst.kind == kind]
        self._bulk_insert("candidate_lists", _COLUMNS, (lst.as_tuple() for lst in written))
        return sum(len(lst) for lst in written)

    def precomputed_lists(
        self, kind: str, accounts: Iterable[int] | None = None
    ) -> list[CandidateList]:
        """The stored lists of ``kind`` (of ``accounts`` when given), by account."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM candidate_lists WHERE kind = ?"
        if accounts is None:
            rows = self._fetch(sql + " ORDER BY account", (kind,))
        else:
            rows = []
            ids = [int(a) for a in accounts]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                rows += self._fetch(sql + f" AND account IN ({marks})", (kind, *chunk))
            rows.sort(key=lambda r: int(r[0]))
        return [_list(r) for r in rows]

    def precomputed(self, kind: str, accounts: Iterable[int] | None = None) -> list[PrecomputedRow]:
        """The stored candidates of ``kind`` (of ``accounts`` when given), one row per
        candidate, by account and rank."""
        return [row for lst in self.precomputed_lists(kind, accounts) for row in lst.rows()]
