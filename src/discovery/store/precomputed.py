"""Precomputed candidate lists (``discovery batch candidates``): per user and feed kind, the
ranked candidates a batch job computed at one snapshot counter, for serving to fall back on."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .core import StoreCore

__all__ = ["PrecomputedMixin", "PrecomputedRow"]


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

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.account,
            self.kind,
            self.rank,
            self.post,
            float(self.score),
            json.dumps(list(self.sources)),
            json.dumps(self.evidence, sort_keys=True),
            self.counter,
            self.computed_at,
        )


_COLUMNS = (
    "account", "kind", "rank", "post", "score", "sources", "evidence", "counter", "computed_at",
)  # fmt: skip


def _row(r: Sequence[Any]) -> PrecomputedRow:
    return PrecomputedRow(
        int(r[0]),
        str(r[1]),
        int(r[2]),
        int(r[3]),
        float(r[4]),
        tuple(json.loads(r[5])),
        dict(json.loads(r[6])),
        int(r[7]),
        int(r[8]),
    )


class PrecomputedMixin(StoreCore):
    """Write and read precomputed candidate lists."""

    def replace_precomputed(
        self, kind: str, accounts: Iterable[int], rows: Iterable[PrecomputedRow]
    ) -> int:
        """Replace the ``kind`` lists of ``accounts`` with ``rows`` (inside a transaction);
        how many rows were written."""
        self._need_tx()
        ids = [int(a) for a in accounts]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            self._exec(
                f"DELETE FROM precomputed WHERE kind = ? AND account IN ({marks})", (kind, *chunk)
            )
        return self._bulk_insert("precomputed", _COLUMNS, (r.as_tuple() for r in rows))

    def precomputed(self, kind: str, accounts: Iterable[int] | None = None) -> list[PrecomputedRow]:
        """The stored rows of ``kind`` (of ``accounts`` when given), by account and rank."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM precomputed WHERE kind = ?"
        if accounts is None:
            rows = self._fetch(sql + " ORDER BY account, rank", (kind,))
        else:
            rows = []
            ids = [int(a) for a in accounts]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                rows += self._fetch(sql + f" AND account IN ({marks})", (kind, *chunk))
            rows.sort(key=lambda r: (int(r[0]), int(r[2])))
        return [_row(r) for r in rows]
