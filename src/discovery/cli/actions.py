"""``discovery like|unlike|save|unsave|hide|unhide ME POST`` and
``discovery follow|unfollow|block|unblock ME HANDLE``: what a person does, from the shell.

Each command is one event through the same path as ``POST /v1/events`` (idempotent, one
transaction), so a running ``discovery serve`` reflects it on its next request.
"""

from __future__ import annotations

import time
import uuid

import typer

from ..errors import InputError
from ..store import NotFound
from ..store.events import EventRow, record_events
from ._common import app, console, state
from ._text import lit

__all__ = ["POST_ACTIONS", "TARGET_ACTIONS"]

#: Commands that act on a post, with what they print.
POST_ACTIONS = {
    "like": "likes",
    "unlike": "no longer likes",
    "save": "saved",
    "unsave": "no longer saves",
    "hide": "sees less like",
    "unhide": "no longer hides",
}
#: Commands that act on another account.
TARGET_ACTIONS = {
    "follow": "follows",
    "unfollow": "no longer follows",
    "block": "blocked",
    "unblock": "unblocked",
}


def _act(kind: str, me: str, post: int | None, target: str | None) -> None:
    with state.open_store() as store:
        try:
            account = store.account_id(me)
            other = None if target is None else store.account_id(target)
        except NotFound as exc:
            raise InputError(str(exc)) from None
        if post is not None and not store.existing_posts([post]):
            raise InputError(f"no post with id {post}")
        if other == account:
            raise InputError(f"an account cannot {kind} itself")
        row = EventRow(f"cli-{uuid.uuid4().hex}", account, kind, int(time.time()), post, other)
        record_events(store, [row], received_at=int(time.time()))
        counts = store.post_counts([post])[post] if post is not None else None
    what = f"post {post}" if post is not None else f"@{lit(str(target).lstrip('@'))}"
    tail = f" ({counts[0]:,} likes)" if counts is not None else ""
    verb = {**POST_ACTIONS, **TARGET_ACTIONS}[kind]
    console.print(f"@{lit(me.lstrip('@'))} {verb} {what}{tail}", soft_wrap=True)


def _post_command(kind: str) -> None:
    def command(
        me: str = typer.Argument(..., help="Your handle."),
        post: int = typer.Argument(..., help="Post id.", min=0, max=2**63 - 1),
    ) -> None:
        _act(kind, me, post, None)

    command.__doc__ = f"{kind.capitalize()} a post as ME (one event, as POST /v1/events)."
    app.command(kind)(command)


def _target_command(kind: str) -> None:
    def command(
        me: str = typer.Argument(..., help="Your handle."),
        handle: str = typer.Argument(..., help="The other account's handle."),
    ) -> None:
        _act(kind, me, None, handle)

    command.__doc__ = f"{kind.capitalize()} an account as ME (one event, as POST /v1/events)."
    app.command(kind)(command)


for _kind in POST_ACTIONS:
    _post_command(_kind)
for _kind in TARGET_ACTIONS:
    _target_command(_kind)
