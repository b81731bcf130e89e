"""Connectors: real networks in, through their official APIs (Bluesky via atproto, Mastodon and
Pixelfed via Mastodon.py), as backfill (``discovery sync``) and live (``discovery stream``).

Each connector writes through the store's external keys (``bsky:did:plc:…``,
``mastodon:@user@host``) and keeps its cursors in the store's sync state, in the same
transaction as the rows they describe, so an interrupted sync resumes without duplicates.
Heavy SDKs are optional extras, imported inside the functions that need them.
"""

__all__: list[str] = []
