"""Browser sessions: a signed cookie that stands for one bearer token.

Signing in with a token (the form at ``/signin``) sets the cookie :data:`COOKIE`::

    <token hash>.<issued at, Unix ms>.<HMAC-SHA256 of both, base64url>

- **Signed**: the HMAC key is a random secret (``secrets.token_bytes(32)``) created once, at the
  first sign-in, and kept in the store's ``meta`` table (key :data:`SECRET_META`), so every
  worker and every restart shares it. A cookie whose MAC does not match is ignored.
- **Expiring**: a cookie older than ``session_days`` (:data:`SESSION_DAYS_ENV`, default
  :data:`DEFAULT_SESSION_DAYS`) is ignored, whatever its ``Max-Age`` said.
- **Revocable**: it names the token by its hash, which is looked up on every request: a
  revoked token (``discovery token revoke``) ends its sessions at once, and signing out
  stamps the token's ``signed_out_at``, voiding every session of it issued before.
- The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page
  makes the browser send it) and ``Secure`` when the request came over https.

The token hash in the cookie is not a secret worth stealing on its own: bearer use needs the
token itself, and the cookie is useless without the server's MAC.

>>> key = b"k" * 32
>>> value = make_cookie(key, "ab" * 32, 1_700_000_000_000)
>>> read_cookie(key, value, now_ms=1_700_000_001_000, max_age_s=60)
('abababababababababababababababababababababababababababababababab', 1700000000000)
>>> read_cookie(key, value[:-1] + "A", now_ms=1_700_000_001_000, max_age_s=60) is None
True
>>> read_cookie(key, value, now_ms=1_700_000_061_000, max_age_s=60) is None   # expired
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
import weakref
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from .state import Service

__all__ = [
    "COOKIE",
    "DEFAULT_SESSION_DAYS",
    "SECRET_META",
    "SESSION_DAYS_ENV",
    "make_cookie",
    "read_cookie",
    "session_days",
    "session_secret",
]

COOKIE = "discovery_session"
SECRET_META = "session_secret"
SESSION_DAYS_ENV = "DISCOVERY_SESSION_DAYS"
DEFAULT_SESSION_DAYS = 30.0
#: A cookie stamped this far in the future (clock skew between workers) is still accepted.
_SKEW_MS = 60_000
#: Each service's key once read (it never changes once made).
_SECRETS: weakref.WeakKeyDictionary[Service, bytes] = weakref.WeakKeyDictionary()


def session_days() -> float:
    """How long a session lasts: ``$DISCOVERY_SESSION_DAYS`` (0.001–365) or 30 days."""
    raw = os.environ.get(SESSION_DAYS_ENV)
    if raw is None or raw == "":
        return DEFAULT_SESSION_DAYS
    try:
        days = float(raw)
    except ValueError:
        days = -1.0
    if not 0.001 <= days <= 365:
        raise InputError(f"${SESSION_DAYS_ENV}={raw!r}: expected a number of days in 0.001-365")
    return days


def _mac(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def make_cookie(key: bytes, token_hash: str, issued_ms: int) -> str:
    """The cookie value naming ``token_hash``, issued at ``issued_ms``, signed with ``key``."""
    payload = f"{token_hash}.{int(issued_ms)}"
    return f"{payload}.{_mac(key, payload)}"


def read_cookie(key: bytes, value: str, now_ms: int, max_age_s: float) -> tuple[str, int] | None:
    """``(token hash, issued ms)`` of a cookie with a valid MAC that has not expired; else
    None (tampered, malformed, expired or from the future)."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 16:
        return None
    token_hash, issued, mac = parts
    if len(token_hash) != 64 or any(c not in "0123456789abcdef" for c in token_hash):
        return None
    if not hmac.compare_digest(_mac(key, f"{token_hash}.{issued}"), mac):
        return None
    issued_ms = int(issued)
    if issued_ms > now_ms + _SKEW_MS or now_ms - issued_ms >= max_age_s * 1000:
        return None
    return token_hash, issued_ms


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def session_secret(service: Service, create: bool = False) -> bytes | None:
    """The HMAC key from the store's meta; made (once, by whichever worker signs someone in
    first) when ``create``. Read back inside the writing transaction, so two workers racing to
    create it agree on one."""
    known = _SECRETS.get(service)
    if known is not None:
        return known
    with service.auth_lock:
        found = service.auth_store.get_meta(SECRET_META)
    if found is None and create:
        with service.store_for_write() as store, store.transaction():
            found = store.get_meta(SECRET_META)
            if found is None:
                found = secrets.token_bytes(32).hex()
                store.set_meta(SECRET_META, found)
    if found is None:
        return None
    key = _SECRETS[service] = bytes.fromhex(found)
    return key
