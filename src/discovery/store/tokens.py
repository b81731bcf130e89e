"""Bearer tokens for the HTTP API: only a SHA-256 hash of each token is stored.

A token is 32 random bytes (``secrets.token_urlsafe``) behind a ``dsc_`` prefix, printed once by
``discovery token create``. Its SHA-256 is enough to look it up and useless to an attacker who
reads the database: the token has 256 bits of entropy, so no salt or slow hash is needed (the
reasoning GitHub and Stripe apply to their API keys).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from .base import Store

__all__ = ["TOKEN_PREFIX", "TokenInfo", "any_tokens", "create_token", "hash_token", "lookup_token"]

TOKEN_PREFIX = "dsc_"


@dataclass(frozen=True)
class TokenInfo:
    """Who a token speaks for: an account id (None for an account-less admin token)."""

    account: int | None
    admin: bool


def hash_token(token: str) -> str:
    """Hex SHA-256 of the token's UTF-8 bytes.

    >>> hash_token("dsc_x")[:12]
    '95b19cca0abc'
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(store: Store, account: int | None, *, admin: bool = False) -> str:
    """Store the hash of a new token for ``account`` and return the token (shown only once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.add_token(hash_token(token), account, admin=admin)
    return token


def lookup_token(store: Store, token: str) -> TokenInfo | None:
    """The account and role of ``token``; None when it is not a known token."""
    found = store.token(hash_token(token))
    return None if found is None else TokenInfo(found.account, found.admin)


def any_tokens(store: Store) -> bool:
    """Whether any token exists (without tokens the API runs open, in local single-user mode)."""
    return store.any_tokens()
