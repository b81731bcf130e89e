"""Service-auth JWTs for the feed generator: who is asking, proven by their own signing key.

A Bluesky app asks a feed generator for a feed through the user's PDS or the AppView, with
``Authorization: Bearer <jwt>``: an ES256K (secp256k1) or ES256 (P-256) JWT signed by the
requester's repository signing key, whose payload names the requester (``iss``, a DID), this
service (``aud``, its DID), an expiry (``exp``) and the method it may call (``lxm``,
``app.bsky.feed.getFeedSkeleton``).

:func:`verify_service_jwt` checks all four and the signature with the atproto SDK
(:func:`atproto_server.auth.jwt.verify_jwt`), against the ``#atproto`` key of the requester's
DID document. :class:`DidKeys` finds that key with the SDK's ``IdResolver`` (``did:plc`` from a
PLC directory, ``did:web`` from ``https://host/.well-known/did.json`` or a mirror of such
documents) behind an in-memory cache; a signature that fails with the cached key is checked once more against a freshly
resolved document, in case the key rotated. Every refusal is an :class:`AuthFailure` carrying
the XRPC error name atproto's own verifier uses (``BadJwt``, ``JwtExpired``,
``BadJwtAudience``, ``BadJwtLexiconMethod``, ``BadJwtIss``, ``BadJwtSignature``).

The SDK is imported inside the functions (the ``bluesky`` extra).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..connectors.bluesky_publish import is_did

__all__ = [
    "FEED_SKELETON",
    "PLC_DIRECTORY",
    "AuthFailure",
    "DidKeys",
    "is_did",
    "verify_service_jwt",
]

#: The lexicon method a feed request's token must be scoped to (``lxm``).
FEED_SKELETON = "app.bsky.feed.getFeedSkeleton"
#: Where ``did:plc`` documents are resolved unless told otherwise.
PLC_DIRECTORY = "https://plc.directory"
_ALGS = ("ES256K", "ES256")
# Session, refresh and DPoP tokens are not service tokens (atproto's xrpc-server refuses them).
_NOT_SERVICE = ("at+jwt", "refresh+jwt", "dpop+jwt")

#: ``(did, force_refresh) -> did:key``, the SDK's ``GetSigningKeyCallback``.
KeyLookup = Callable[[str, bool], str]


class AuthFailure(Exception):
    """A refused token: ``error`` is the XRPC error name, ``message`` says why (HTTP 401)."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


class DidKeys:
    """The atproto signing key (a ``did:key``) of a DID, cached.

    Parameters
    ----------
    plc_url
        PLC directory for ``did:plc`` (a local fake in tests).
    timeout
        Seconds for one resolution.
    stale_ttl, max_ttl
        A cached document older than ``stale_ttl`` seconds is refreshed on use; one older
        than ``max_ttl`` is resolved again before use (the SDK's ``DidInMemoryCache``).
    did_web_url
        Read ``did:web:host`` documents from ``{did_web_url}/host/.well-known/did.json``
        instead of ``https://host/.well-known/did.json`` (None: the did:web method itself).
    """

    def __init__(
        self,
        plc_url: str = PLC_DIRECTORY,
        timeout: float = 3.0,
        stale_ttl: int = 3600,
        max_ttl: int = 86_400,
        *,
        did_web_url: str | None = None,
    ) -> None:
        from atproto_identity.cache.in_memory_cache import DidInMemoryCache
        from atproto_identity.resolver import IdResolver

        class _Cache(DidInMemoryCache):
            def delete(self, did: str) -> None:
                # The SDK deletes an unknown DID's entry unconditionally (KeyError when the
                # directory answers 404 for a DID never cached).
                self._cache.pop(did, None)

        self.plc_url = plc_url
        self._did = IdResolver(
            plc_url=plc_url, timeout=timeout, cache=_Cache(stale_ttl, max_ttl)
        ).did
        if did_web_url is not None:
            # The SDK's DidResolver keeps one resolver per method and offers no option for
            # where did:web documents live, so its "web" entry is swapped for the same
            # resolver reading from the mirror (same validation, same cache above it).
            self._did._methods["web"] = _mirror_web_resolver(did_web_url, timeout)

    def __call__(self, did: str, force_refresh: bool = False) -> str:
        """The signing key of ``did``; :class:`AuthFailure` when it cannot be found."""
        from atproto_core.exceptions import AtProtocolError

        try:
            return str(self._did.resolve_atproto_key(did, force_refresh))
        except (AtProtocolError, ValueError) as exc:  # not found, unreachable, malformed
            raise AuthFailure("BadJwtIss", f"no signing key for {did}: {exc}") from None


def _mirror_web_resolver(base: str, timeout: float) -> Any:
    """The SDK's ``DidWebResolver`` reading ``did:web:host`` from ``{base}/host/...``."""
    from atproto_identity.did.resolvers.web_resolver import DidWebResolver

    class MirrorWebResolver(DidWebResolver):
        def _parse_web_did(self, did: str) -> str:  # type: ignore[override]
            url = DidWebResolver._parse_web_did(did)  # the SDK's checks and path
            return f"{base.rstrip('/')}/{url.removeprefix('https://')}"

    return MirrorWebResolver(timeout)


def _claims(jwt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload of a compact JWT, checked for the shape of a service token."""
    import json

    from atproto_server.auth.jwt import parse_jwt
    from atproto_server.exceptions import TokenDecodeError

    try:
        payload_bytes, _, header, _ = parse_jwt(jwt)
        payload = json.loads(payload_bytes)
    except (TokenDecodeError, ValueError, UnicodeDecodeError):
        raise AuthFailure("BadJwt", "poorly formatted jwt") from None
    if not isinstance(payload, dict):
        raise AuthFailure("BadJwt", "poorly formatted jwt")
    if header.get("typ") in _NOT_SERVICE:
        raise AuthFailure("BadJwtType", f"invalid jwt type {header.get('typ')!r}")
    if header.get("alg") not in _ALGS:
        raise AuthFailure("BadJwt", f"jwt alg must be one of {', '.join(_ALGS)}")
    exp = payload.get("exp")
    if not isinstance(payload.get("iss"), str) or not isinstance(payload.get("aud"), str):
        raise AuthFailure("BadJwt", "poorly formatted jwt: iss and aud must be strings")
    if isinstance(exp, bool) or not isinstance(exp, int):
        raise AuthFailure("BadJwt", "poorly formatted jwt: exp must be an integer")
    return header, payload


def verify_service_jwt(
    authorization: str | None,
    service_did: str,
    keys: KeyLookup,
    *,
    lxm: str = FEED_SKELETON,
    leeway: int = 0,
) -> str:
    """The requester's DID, from an ``Authorization`` header holding a service JWT.

    Checks, in atproto's order: the token's shape (ES256K or ES256, ``iss``, ``aud``, integer
    ``exp``), expiry, audience (``service_did``), the signature against ``keys(iss, ...)``
    (through the SDK's ``verify_jwt``, which retries once with a fresh key), and ``lxm``.
    Raises :class:`AuthFailure` on any failure.

    >>> verify_service_jwt(None, "did:web:feeds.example", lambda did, fresh: "")
    Traceback (most recent call last):
    ...
    discovery.service.feedgen_auth.AuthFailure: missing service token (Authorization: Bearer <jwt>)
    """
    from atproto_server.auth.jwt import verify_jwt
    from atproto_server.exceptions import (
        InvalidTokenError,
        TokenExpiredSignatureError,
        TokenInvalidAudienceError,
        TokenInvalidSignatureError,
    )

    scheme, _, jwt = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not jwt.strip():
        raise AuthFailure(
            "AuthenticationRequired", "missing service token (Authorization: Bearer <jwt>)"
        )
    jwt = jwt.strip()
    _, payload = _claims(jwt)
    if not is_did(payload["iss"]):
        raise AuthFailure("BadJwtIss", "jwt iss is not a valid did")
    try:
        verify_jwt(jwt, keys, own_did=service_did, leeway=leeway)
    except TokenExpiredSignatureError:
        raise AuthFailure("JwtExpired", "jwt expired") from None
    except TokenInvalidAudienceError:
        raise AuthFailure("BadJwtAudience", "jwt audience does not match service did") from None
    except TokenInvalidSignatureError:
        raise AuthFailure("BadJwtSignature", "jwt signature does not match jwt issuer") from None
    except InvalidTokenError as exc:
        raise AuthFailure("BadJwt", f"poorly formatted jwt: {exc}") from None
    if payload.get("lxm") != lxm:
        missing = "lxm" not in payload
        raise AuthFailure(
            "BadJwtLexiconMethod",
            f'{"missing" if missing else "bad"} jwt lexicon method ("lxm"). must match: {lxm}',
        )
    return str(payload["iss"])
