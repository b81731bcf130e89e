"""``POST /v1/posts`` and ``POST /v1/accounts``: a live installation grows without re-imports.

New rows go through the store's external keys (``api:…``), checked by the same rules as the
importers (:mod:`discovery.store.validate`): a bad value is a 422 naming the field, a handle
already taken is a 409, and nothing is written. A post is dated by the store's clock when the
client gives no ``taken_at`` (a fixed world's now, else the wall clock), so it shows at once.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from ..store import AccountRecord, PostRecord, StoreError
from ..store import validate as v
from .auth import Principal, get_service, principal
from .models import ErrorOut, Handle
from .responses import FastJSON
from .state import Service

__all__ = ["AccountCreate", "PostCreate", "router"]

router = APIRouter(tags=["publish"])
Svc = Annotated[Service, Depends(get_service)]
Who = Annotated[Principal, Depends(principal)]


class PostCreate(BaseModel):
    """A new post, with the importer's post fields."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"author": "me", "caption": "Summit! #hiking", "image": "p/1.jpg"}]
        },
    )

    author: Handle
    caption: str = Field(default="", max_length=v.CAPTION_MAX)
    image: str | None = Field(default=None, max_length=v.IMAGE_MAX)
    media_type: Literal["photo", "video", "carousel"] = "photo"
    taken_at: dt.datetime | None = Field(
        default=None, description="When it was taken (default: the store's now)."
    )
    key: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[!-~]+$",
        description="Client key: posting the same key again answers the same post.",
    )


class AccountCreate(BaseModel):
    """A new account (admin only)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"handle": "ana"}]})

    handle: Handle
    display_name: str = Field(default="", max_length=v.DISPLAY_NAME_MAX)
    kind: Literal["person", "brand"] = "person"


class PostCreated(BaseModel):
    post_id: int
    key: str
    created: bool


class AccountCreated(BaseModel):
    account_id: int
    handle: str
    key: str


def _checked(check: Any, *args: Any, **kw: Any) -> Any:
    try:
        return check(*args, **kw)
    except v.BadValue as exc:
        raise HTTPException(422, str(exc)) from None


def create_post(service: Service, body: PostCreate, who: Principal) -> tuple[dict[str, Any], bool]:
    if not who.may_act_for(body.author):
        raise HTTPException(403, f"the token of @{who.handle} may not post as @{body.author}")
    caption = _checked(v.check_text, body.caption, "caption", max_chars=v.CAPTION_MAX)
    image = None if body.image is None else _checked(v.check_url_or_path, body.image)
    with service.store_for_write() as store:
        try:
            author = store.account_id(body.author)
        except StoreError as exc:
            raise HTTPException(404, str(exc)) from None
        if body.taken_at is None:
            now = store.get_meta("now")
            taken = int(now) if store.clock() == "fixed" and now else int(time.time())
        else:
            at = body.taken_at if body.taken_at.tzinfo else body.taken_at.replace(tzinfo=dt.UTC)
            taken = _checked(v.check_time, int(at.timestamp()), "taken_at", now=int(time.time()))
        key = f"api:{author}/{body.key}" if body.key else f"api:{uuid.uuid4().hex}"
        held = store.ids_for_keys("posts", [key])
        if key in held:
            return {"post_id": held[key], "key": key, "created": False}, False
        record = PostRecord(key, author, taken, caption, body.media_type, image)
        try:
            with store.transaction():
                ids = store.upsert_posts([record])
        except StoreError as exc:
            raise HTTPException(422, str(exc)) from None
    return {"post_id": ids[key], "key": key, "created": True}, True


def create_account(service: Service, body: AccountCreate, who: Principal) -> dict[str, Any]:
    if not who.admin:
        raise HTTPException(403, f"the token of @{who.handle} may not create accounts (admin only)")
    handle = _checked(v.check_handle, body.handle.removeprefix("@"))
    name = _checked(v.check_text, body.display_name, "display_name", max_chars=v.DISPLAY_NAME_MAX)
    key = f"api:@{handle}"
    with service.store_for_write() as store:
        if store.account_ids([handle]):
            raise HTTPException(409, f"handle {handle!r} is already taken")
        try:
            with store.transaction():
                ids = store.upsert_accounts(
                    [AccountRecord(key, handle, name, body.kind, int(time.time()))]
                )
        except StoreError as exc:
            raise HTTPException(409, str(exc)) from None
    return {"account_id": ids[key], "handle": handle, "key": key}


@router.post(
    "/posts",
    response_model=PostCreated,
    status_code=201,
    responses={200: {"model": PostCreated, "description": "A retry of a known `key`."}},
)
async def post_posts(body: Annotated[PostCreate, Body()], service: Svc, who: Who) -> FastJSON:
    """Publish a post as ``author`` (their own token, or an admin's). The next feed of the
    author's followers has it; ``key`` makes a retry answer the same post (200)."""
    out, created = await service.run_write(create_post, service, body, who)
    return FastJSON(out, status_code=201 if created else 200)


@router.post(
    "/accounts",
    response_model=AccountCreated,
    status_code=201,
    responses={409: {"model": ErrorOut, "description": "The handle is already taken."}},
)
async def post_accounts(body: Annotated[AccountCreate, Body()], service: Svc, who: Who) -> FastJSON:
    """Create an account (admin token, or local open mode); a taken handle is 409."""
    return FastJSON(await service.run_write(create_account, service, body, who), status_code=201)
