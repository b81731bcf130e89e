"""Which upstream record made which row: the ``sync_records`` table connectors keep.

A network's delete names only the record it undoes (Jetstream sends
``{"operation": "delete", "collection": "app.bsky.feed.like", "rkey": "3l…"}``), not the like or
follow that record created. A connector that writes a like or a follow from an upstream record
stores the record key beside it — ``(source, record) → (account, effect, target)``, e.g.
``("bsky", "did:plc:ana/app.bsky.feed.like/3l…") → (7, "like", 1234)`` — so a later delete is
one primary-key lookup. Created records are inserted in bulk and a batch's deletes looked up in
one query, instead of a per-account index rewritten on every batch.

These rows are bookkeeping no snapshot reads; like sync state, they are written in the
transaction that wrote the rows they describe, so a rolled-back batch leaves neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .core import StoreCore

__all__ = ["SyncRecord", "SyncRecordsMixin"]

_COLUMNS = "record, account, effect, target"


@dataclass(frozen=True, slots=True)
class SyncRecord:
    """One upstream record and the row it created.

    ``record`` is the connector's stable name of the upstream record (for Bluesky
    ``<did>/<collection>/<rkey>``), ``account`` who made it, ``effect`` what it created
    (``"like"``, ``"follow"``) and ``target`` the internal id of the post or account it points at.
    """

    record: str
    account: int
    effect: str
    target: int


class SyncRecordsMixin(StoreCore):
    """Typed reads and writes of ``sync_records``."""

    def put_sync_records(self, source: str, records: Iterable[SyncRecord]) -> int:
        """Insert or update records of ``source`` (inside a transaction); how many changed.

        A record already stored with the same account, effect and target is left alone, so an
        unchanged re-sync changes nothing (and does not advance the change counter).
        """
        self._need_tx()
        rows = [(source, r.record, int(r.account), r.effect, int(r.target)) for r in records]
        return self._many(
            "INSERT INTO sync_records (source, record, account, effect, target)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, record) DO UPDATE SET"
            " account = excluded.account, effect = excluded.effect, target = excluded.target"
            " WHERE sync_records.account <> excluded.account"
            " OR sync_records.effect <> excluded.effect"
            " OR sync_records.target <> excluded.target",
            rows,
        )

    def sync_records(self, source: str, records: Iterable[str]) -> dict[str, SyncRecord]:
        """The stored records among ``records`` (one query per 500), by record key."""
        out: dict[str, SyncRecord] = {}
        keys = list(dict.fromkeys(records))
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self._fetch(
                f"SELECT {_COLUMNS} FROM sync_records WHERE source = ? AND record IN ({marks})",
                (source, *chunk),
            )
            for rec, account, effect, target in rows:
                out[str(rec)] = SyncRecord(str(rec), int(account), str(effect), int(target))
        return out

    def sync_records_of(self, source: str, account: int, effect: str) -> list[SyncRecord]:
        """Every record of ``source`` that ``account`` made with ``effect``, by record key."""
        rows = self._fetch(
            f"SELECT {_COLUMNS} FROM sync_records WHERE source = ? AND account = ? AND effect = ?"
            " ORDER BY record",
            (source, int(account), effect),
        )
        return [SyncRecord(str(r), int(a), str(e), int(t)) for r, a, e, t in rows]

    def drop_sync_records(self, source: str, records: Iterable[str]) -> int:
        """Forget records of ``source`` (inside a transaction); how many were stored."""
        self._need_tx()
        return self._many(
            "DELETE FROM sync_records WHERE source = ? AND record = ?",
            [(source, r) for r in dict.fromkeys(records)],
        )

    def drop_sync_records_to(
        self, source: str, account: int, effect: str, targets: Iterable[int]
    ) -> int:
        """Forget ``account``'s ``effect`` records that point at ``targets`` (a like or follow
        removed by some other path than the record's delete); how many were stored."""
        self._need_tx()
        return self._many(
            "DELETE FROM sync_records WHERE source = ? AND account = ? AND effect = ?"
            " AND target = ?",
            [(source, int(account), effect, int(t)) for t in dict.fromkeys(targets)],
        )

    def sync_values(self, name: str) -> dict[str, str]:
        """One sync-state value of every source that has it (``source → value``), in one
        query: e.g. ``index:likes`` of every account a connector tracks."""
        rows = self._fetch("SELECT source, value FROM sync_state WHERE name = ?", (name,))
        return {str(s): str(v) for s, v in rows}
