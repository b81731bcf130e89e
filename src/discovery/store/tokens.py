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
from .errors import NotFound, StoreError
from .records import TokenRecord

__all__ = [
    "TOKEN_PREFIX",
    "TokenInfo",
    "any_tokens",
    "create_token",
    "find_tokens",
    "hash_token",
    "list_tokens",
    "lookup_token",
    "revoke_tokens",
    "token_id",
]

TOKEN_PREFIX = "dsc_"


@dataclass(frozen=True)
class TokenInfo:
    """Who a token speaks for: an account id (None for an account-less admin token)."""

    account: int | None
    admin: bool
    token_hash: str = ""


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
    key = hash_token(token)
    found = store.token(key)
    return None if found is None else TokenInfo(found.account, found.admin, key)


def any_tokens(store: Store) -> bool:
    """Whether any token exists (without tokens the API runs open, in local single-user mode)."""
    return store.any_tokens()


def token_id(token_hash: str) -> str:
    """The short public name of a token: the first 12 hex digits of its hash (shown by
    ``discovery token list``, accepted by ``discovery token revoke``; it reveals nothing
    about the secret).

    >>> token_id(hash_token("dsc_x"))
    '95b19cca0abc'
    """
    return token_hash[:12]


def list_tokens(store: Store) -> list[TokenRecord]:
    """Every token's account, role and times (never the secret: only hashes are stored)."""
    return store.list_tokens()


#: The shortest id prefix ``discovery token revoke`` accepts (so a typo cannot match many).
MIN_PREFIX = 6


def find_tokens(store: Store, who: str) -> list[TokenRecord]:
    """The tokens ``who`` names: every token of the account with that handle (``@`` optional),
    else the one token whose id starts with ``who`` (at least :data:`MIN_PREFIX` hex digits).

    Raises :class:`NotFound` when nothing matches and :class:`StoreError` for an ambiguous
    prefix."""
    tokens = store.list_tokens()
    handle = who.lstrip("@")
    mine = [t for t in tokens if t.handle is not None and t.handle == handle]
    if mine:
        return mine
    prefix = who.lower()
    if len(prefix) >= MIN_PREFIX and all(c in "0123456789abcdef" for c in prefix):
        found = [t for t in tokens if t.token_hash.startswith(prefix)]
        if len(found) > 1:
            raise StoreError(f"token id {who!r} matches {len(found)} tokens: give more digits")
        if found:
            return found
    raise NotFound(f"no token of an account @{handle} and no token id starting with {who!r}")


def revoke_tokens(store: Store, who: str) -> list[TokenRecord]:
    """Delete the tokens :func:`find_tokens` names, in one transaction; returns them. Their
    bearer use stops at once and their browser sessions are refused from the next request."""
    found = find_tokens(store, who)
    with store.transaction():
        for t in found:
            store.revoke_token(t.token_hash)
    return found
