"""Small state beside the network: per-user settings, API tokens, seen event ids, and the
key/value sync state that connectors keep their cursors in."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from .core import StoreCore
from .errors import StoreError
from .records import TokenRecord

__all__ = ["StateMixin"]


class StateMixin(StoreCore):
    """Settings, tokens, event ids and sync state."""

    # ----------------------------------------------------------- user settings
    def user_settings(self, account_id: int) -> dict[str, Any]:
        """Saved per-user settings (feed weights, blocked handles); empty when none."""
        rows = self._fetch("SELECT body FROM user_settings WHERE account = ?", (int(account_id),))
        return {} if not rows else dict(json.loads(rows[0][0]))

    def all_user_settings(self) -> dict[int, dict[str, Any]]:
        """Every user's saved settings, by account id (a batch job reads them once)."""
        rows = self._fetch("SELECT account, body FROM user_settings")
        return {int(a): dict(json.loads(b)) for a, b in rows}

    def save_user_settings(self, account_id: int, body: dict[str, Any]) -> None:
        """Replace a user's saved settings (inside a transaction)."""
        self._need_tx()
        self._exec(
            "INSERT INTO user_settings (account, body) VALUES (?, ?) ON CONFLICT (account)"
            " DO UPDATE SET body = excluded.body",
            (int(account_id), json.dumps(body, sort_keys=True)),
        )

    # ------------------------------------------------------------------ tokens
    def add_token(self, token_hash: str, account: int | None, *, admin: bool) -> None:
        """Store a token's hash (the token itself is never stored)."""
        with self.transaction():
            self._exec(
                "INSERT INTO tokens (token_hash, account, admin, created_at) VALUES (?, ?, ?, ?)",
                (token_hash, account, int(admin), int(time.time())),
            )
            # Once a store has had a token it never serves open again: revoking the last one
            # must lock everyone out, not hand the store to anyone.
            self.set_meta("auth", "tokens")

    _TOKEN_COLUMNS = (
        "SELECT t.token_hash, t.account, t.admin, t.created_at, t.last_used, t.signed_out_at,"
        " a.handle FROM tokens t LEFT JOIN accounts a ON a.id = t.account"
    )

    @staticmethod
    def _token_record(row: tuple[Any, ...]) -> TokenRecord:
        token_hash, account, admin, created, used, signed_out, handle = row
        return TokenRecord(
            None if account is None else int(account),
            bool(admin),
            token_hash=str(token_hash),
            handle=None if handle is None else str(handle),
            created_at=int(created),
            last_used=None if used is None else int(used),
            signed_out_at=None if signed_out is None else int(signed_out),
        )

    def token(self, token_hash: str) -> TokenRecord | None:
        """Who the token with this hash speaks for; None when unknown."""
        rows = self._fetch(self._TOKEN_COLUMNS + " WHERE t.token_hash = ?", (token_hash,))
        return self._token_record(rows[0]) if rows else None

    def list_tokens(self) -> list[TokenRecord]:
        """Every token (its hash and bookkeeping, never the secret), oldest first."""
        rows = self._fetch(self._TOKEN_COLUMNS + " ORDER BY t.created_at, t.token_hash")
        return [self._token_record(r) for r in rows]

    def revoke_token(self, token_hash: str) -> bool:
        """Delete a token (inside a transaction): its bearer use and its browser sessions end."""
        self._need_tx()
        return self._exec("DELETE FROM tokens WHERE token_hash = ?", (token_hash,)) > 0

    def touch_token(self, token_hash: str, now: int, every: int = 60) -> bool:
        """Set ``last_used`` to ``now`` unless it was set less than ``every`` seconds ago.

        Bookkeeping no snapshot reads, so it runs outside a transaction (in autocommit) and
        never advances the change counter; the throttle keeps it to a write a minute."""
        return (
            self._exec(
                "UPDATE tokens SET last_used = ? WHERE token_hash = ?"
                " AND (last_used IS NULL OR last_used <= ?)",
                (int(now), token_hash, int(now) - int(every)),
            )
            > 0
        )

    def end_sessions(self, token_hash: str, at_ms: int) -> bool:
        """Void the browser sessions of a token issued before ``at_ms`` (sign-out); like
        :meth:`touch_token`, outside a transaction."""
        return (
            self._exec(
                "UPDATE tokens SET signed_out_at = ? WHERE token_hash = ?",
                (int(at_ms), token_hash),
            )
            > 0
        )

    def any_tokens(self) -> bool:
        """Whether the store is token-protected: a token exists or ever existed (a store
        that never had one runs open, in local single-user mode)."""
        if self.get_meta("auth") == "tokens":
            return True
        return bool(self._fetch("SELECT 1 FROM tokens LIMIT 1"))

    # --------------------------------------------------------------- event ids
    def seen_keys(self, keys: Iterable[str]) -> set[str]:
        """Which event keys (``"<account>/<client id>"``) are recorded."""
        sql = "SELECT event_id FROM events_seen WHERE event_id IN ({})"
        return {str(r[0]) for r in self._fetch_in(sql, keys)}

    def mark_seen(self, rows: Iterable[tuple[str, int]], received_at: int) -> int:
        """Record ``(key, account)`` event ids (inside the transaction that applies them)."""
        self._need_tx()
        return self._many(
            "INSERT INTO events_seen (event_id, account, received_at) VALUES (?, ?, ?)",
            [(k, int(a), int(received_at)) for k, a in rows],
        )

    # -------------------------------------------------------------- sync state
    def get_sync(self, source: str, name: str, default: str | None = None) -> str | None:
        """A connector's saved value (a cursor, the last sync time); ``default`` when unset."""
        rows = self._fetch(
            "SELECT value FROM sync_state WHERE source = ? AND name = ?", (source, name)
        )
        return default if not rows else str(rows[0][0])

    def set_sync(self, source: str, name: str, value: str) -> None:
        """Save a connector's value, in the transaction that wrote what it stands for, so a
        killed sync resumes from a cursor that matches the rows actually committed."""
        self._need_tx()
        if not isinstance(value, str):
            raise StoreError(f"sync state {source}/{name}: value must be text")
        self._exec(
            "INSERT INTO sync_state (source, name, value, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (source, name) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at WHERE sync_state.value <> excluded.value",
            (source, name, value, int(time.time())),
        )

    def sync_state(self, source: str) -> dict[str, str]:
        """Every saved value of one connector."""
        rows = self._fetch("SELECT name, value FROM sync_state WHERE source = ?", (source,))
        return {str(n): str(v) for n, v in rows}
