"""Versioned trained models (an ALS factorisation, a learned ranker) in the ``artifacts`` table.

An artifact is a name (``"als"``, ``"ranker"``), a version that grows by one per save, JSON
metadata (what it was trained on, when, its parameters) and one opaque blob — by convention
an ``.npz`` written with ``allow_pickle=False`` or a model's own text format, never pickle.
Saving never replaces an older version, so a model can be compared with, or rolled back to,
its predecessor; :meth:`ArtifactsMixin.prune_artifacts` keeps the newest few.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .core import StoreCore
from .errors import NotFound, StoreError

__all__ = ["Artifact", "ArtifactsMixin"]


@dataclass(frozen=True)
class Artifact:
    """One stored version of a trained model."""

    name: str
    version: int
    created_at: int
    meta: dict[str, Any]
    data: bytes


class ArtifactsMixin(StoreCore):
    """Save, load, list and prune versioned artifacts."""

    def save_artifact(
        self, name: str, data: bytes, meta: dict[str, Any] | None = None, *, at: int | None = None
    ) -> int:
        """Store ``data`` as the next version of ``name``; returns that version (1 for the first).

        ``meta`` must be JSON-serialisable (a :class:`StoreError` otherwise, nothing written)."""
        if not name or len(name) > 100:
            raise StoreError(f"artifact name must be 1-100 characters, got {name!r}")
        try:
            text = json.dumps(meta or {}, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"artifact {name}: meta is not JSON ({exc})") from None
        with self.transaction():
            rows = self._fetch("SELECT MAX(version) FROM artifacts WHERE name = ?", (name,))
            version = int(rows[0][0] or 0) + 1
            created = int(time.time()) if at is None else int(at)
            self._exec(
                "INSERT INTO artifacts (name, version, created_at, meta, data)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, version, created, text, bytes(data)),
            )
        return version

    def load_artifact(self, name: str, version: int | None = None) -> Artifact:
        """The newest version of ``name`` (or ``version``); :class:`NotFound` when none."""
        if version is None:
            rows = self._fetch(
                "SELECT version, created_at, meta, data FROM artifacts WHERE name = ?"
                " ORDER BY version DESC LIMIT 1",
                (name,),
            )
        else:
            rows = self._fetch(
                "SELECT version, created_at, meta, data FROM artifacts"
                " WHERE name = ? AND version = ?",
                (name, int(version)),
            )
        if not rows:
            which = "" if version is None else f" version {version}"
            raise NotFound(f"no artifact {name!r}{which}; train one first")
        v, created, meta, data = rows[0]
        return Artifact(name, int(v), int(created), dict(json.loads(meta)), bytes(data))

    def artifact_versions(self, name: str | None = None) -> list[Artifact]:
        """Every stored version (newest first per name), without their data (``b""``)."""
        sql = "SELECT name, version, created_at, meta FROM artifacts"
        params: tuple[Any, ...] = ()
        if name is not None:
            sql, params = sql + " WHERE name = ?", (name,)
        rows = self._fetch(sql + " ORDER BY name, version DESC", params)
        return [Artifact(str(n), int(v), int(c), dict(json.loads(m)), b"") for n, v, c, m in rows]

    def external_keys(self, table: str, ids: Sequence[int]) -> dict[int, str]:
        """``id -> ext_key`` of accounts or posts (rows without a key: ``id:<id>``), so a model
        trained on one database is keyed the way its rows are known outside it."""
        if table not in ("accounts", "posts"):
            raise StoreError(f"external keys: unknown table {table!r}")
        rows = self._fetch_in(f"SELECT id, ext_key FROM {table} WHERE id IN ({{}})", ids)
        return {int(i): (str(k) if k is not None else f"id:{int(i)}") for i, k in rows}

    def ids_of_keys(self, table: str, keys: Sequence[str]) -> dict[str, int]:
        """``ext_key -> id`` of accounts or posts (an ``id:<id>`` key no row carries is that
        id); unknown keys are left out."""
        if table not in ("accounts", "posts"):
            raise StoreError(f"external keys: unknown table {table!r}")
        rows = self._fetch_in(f"SELECT ext_key, id FROM {table} WHERE ext_key IN ({{}})", keys)
        out: dict[str, int] = dict(rows)  # text and integer columns: str and int already
        if len(out) == len(keys):  # every key found (distinct keys, as a model's are)
            return out
        local = [int(k[3:]) for k in keys if k not in out and k[:3] == "id:" and k[3:].isdigit()]
        for (i,) in self._fetch_in(f"SELECT id FROM {table} WHERE id IN ({{}})", local):
            out[f"id:{int(i)}"] = int(i)
        return out

    def prune_artifacts(self, name: str, keep: int) -> int:
        """Delete all but the newest ``keep`` versions of ``name``; how many were deleted."""
        if keep < 1:
            raise StoreError(f"keep must be at least 1, got {keep}")
        with self.transaction():
            rows = self._fetch(
                "SELECT version FROM artifacts WHERE name = ? ORDER BY version DESC", (name,)
            )
            old = [int(r[0]) for r in rows[keep:]]
            for v in old:
                self._exec("DELETE FROM artifacts WHERE name = ? AND version = ?", (name, v))
        return len(old)
