"""Pydantic models of every request body and response of the HTTP API (its OpenAPI schema).

Responses are built by :mod:`.views` as plain dicts (the same dicts the CLI prints); these
models document them in ``/openapi.json`` and the schemathesis test checks that the two agree.
Weight parameters are generated from :class:`discovery.settings.Settings`, so their bounds are
stated once, there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    create_model,
    field_validator,
    model_validator,
)

from ..engine import FEED_KINDS
from ..ranking.rankers import RANKERS
from ..settings import Settings
from ..store.events import EVENT_KINDS, TARGET_KINDS

__all__ = [
    "MAX_BATCH",
    "EdgeOut",
    "ErrorOut",
    "EventIn",
    "EventResult",
    "EventsIn",
    "EventsOut",
    "FeedItemOut",
    "FeedOut",
    "FeedPageOut",
    "FeedQuery",
    "FeedQueryBase",
    "GraphOut",
    "HealthOut",
    "InterestOut",
    "InterestsOut",
    "NodeOut",
    "PostOut",
    "SettingsOut",
    "WeightsIn",
    "weight_fields",
]

#: Most events in one ``POST /v1/events`` body.
MAX_BATCH = 1000

if TYPE_CHECKING:
    FeedKind = str
    EventKind = str
    RankerName = str
else:  # the allowed values, from the engine's own tuples
    FeedKind = Literal[FEED_KINDS]
    EventKind = Literal[EVENT_KINDS]
    RankerName = Literal[tuple(RANKERS)]
Handle = Annotated[str, Field(min_length=1, max_length=100, examples=["me"])]


def _not_bool(value: Any) -> Any:
    # JSON true is not post 1 (pydantic's lax mode would take it); "101" from a form still is.
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


PostId = Annotated[int, BeforeValidator(_not_bool), Field(ge=0, le=2**63 - 1, examples=[101])]


def weight_fields() -> dict[str, dataclasses.Field[Any]]:
    """The ``w_*`` fields of :class:`Settings` (name → dataclass field with bounds and help)."""
    return {f.name: f for f in dataclasses.fields(Settings) if f.name.startswith("w_")}


def _optional_weights(prefix: str = "", *, strict: bool = False) -> dict[str, Any]:
    # strict in JSON bodies (true and "0.5" are not numbers); query strings are all text
    return {
        name: (
            float | None,
            Field(
                default=None,
                ge=f.metadata["lo"],
                le=f.metadata["hi"],
                strict=strict or None,
                description=prefix + f.metadata["help"],
            ),
        )
        for name, f in weight_fields().items()
    }


#: Saved weights (``PUT /v1/users/{handle}/settings``): any subset; missing ones use defaults.
WeightsIn = create_model(  # type: ignore[call-overload]
    "WeightsIn",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Feed weights to save for a user; omitted weights fall back to the defaults.",
    **_optional_weights(strict=True),
)


class FeedQueryBase(BaseModel):
    """Query parameters of ``GET /v1/users/{handle}/feed`` (weights are added from Settings)."""

    model_config = ConfigDict(extra="forbid")

    kind: FeedKind = Field(default="blend", description="Which feed.")
    limit: int = Field(default=10, ge=1, le=100, description="Items on this page.")
    cursor: str | None = Field(
        default=None, max_length=16_384, description="`next_cursor` of the previous page."
    )
    ranker: RankerName = Field(default="default", description="Scoring formula.")
    set: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Any ranking setting for this request only, as NAME=VALUE (repeatable):"
        " `set=window_days=30&set=half_life_hours=12` (the settings table in the README).",
    )

    def weights(self) -> dict[str, Any]:
        """The setting overrides that were given: ``w_*`` weights and ``set`` assignments
        (validated against :class:`~discovery.settings.Settings`; a bad one is a 4xx)."""
        from ..settings import parse_assignments

        given = {k: v for k, v in self.model_dump().items() if k.startswith("w_") and v is not None}
        return {**given, **parse_assignments(self.set)}


if TYPE_CHECKING:
    FeedQuery = FeedQueryBase
else:
    #: With the live-preview weight overrides ``w_recency``... (this request only).
    FeedQuery = create_model(
        "FeedQuery",
        __base__=FeedQueryBase,
        **_optional_weights("Preview override (this request only): "),
    )


class ErrorDetail(BaseModel):
    where: str = Field(description="Which input: 'query.limit', 'body.events.3.post'...")
    message: str


class ErrorOut(BaseModel):
    """Every 4xx and 5xx body: one line that says what was wrong, and where."""

    detail: str
    errors: list[ErrorDetail] | None = None


class FeedItemOut(BaseModel):
    """One ranked post: :class:`discovery.feeds.FeedItem` as JSON; in a user's feed and
    interests with that user's state (``liked``, ``saved``, ``hidden``, ``following``)."""

    post_id: int
    author: str | None
    taken_at: str
    like_count: int
    comment_count: int
    score: float
    factors: dict[str, float]
    sources: list[str]
    reason: str
    caption: str
    image: str | None
    media_type: str
    rank: int
    liked: bool | None = Field(default=None, description="The viewing user likes the post.")
    saved: bool | None = Field(default=None, description="The viewing user saved the post.")
    hidden: bool | None = Field(
        default=None, description='The viewing user chose "show less" for the post.'
    )
    following: bool | None = Field(
        default=None, description="The viewing user follows the post's author."
    )


class FeedOut(BaseModel):
    """A feed exactly as ``discovery feed --json`` prints it."""

    user: str
    kind: str
    now: str
    ranker: str
    settings: str = Field(description="Fingerprint of the settings that ranked this feed.")
    items: list[FeedItemOut]


class FeedPageOut(FeedOut):
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null when the feed is exhausted."
    )


class InterestOut(BaseModel):
    tag: str
    members: list[str] = Field(
        default_factory=list,
        description="The cluster's other hashtags (variants, synonyms), most used first.",
    )
    weight: float
    posts: list[FeedItemOut]


class InterestsOut(BaseModel):
    user: str
    now: str
    interests: list[InterestOut]


class PostOut(BaseModel):
    post_id: int
    author: str | None
    taken_at: str
    like_count: int
    comment_count: int
    caption: str
    image: str | None
    media_type: str
    hashtags: list[str]


class NodeOut(BaseModel):
    id: int
    handle: str
    kind: str
    ppr: float
    hop: int
    followed: bool
    topic: str


class EdgeOut(BaseModel):
    source: int
    target: int


class GraphOut(BaseModel):
    center: str
    depth: int
    nodes: list[NodeOut]
    edges: list[EdgeOut]


class SettingsOut(BaseModel):
    user: str
    weights: dict[str, float] = Field(description="The weights feeds use for this user.")
    saved: dict[str, float] = Field(description="The weights saved for this user.")
    blocked: list[str] = Field(
        default_factory=list, description="Handles this user blocked (filtered from every feed)."
    )


class EventIn(BaseModel):
    """One interaction, its undo, or a change to whom the user follows or blocks.

    ``post`` is required for like, comment, save, share, click, view, impression and hide and
    for unlike, unsave and unhide (likes, saves and hides are states: a second like of the same
    post changes nothing); ``target`` (a handle) for follow, unfollow, block and unblock. ``id``
    makes the event idempotent: sending the same id again for the same user changes nothing.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"id": "e-1", "user": "me", "kind": "like", "post": 101},
                {"id": "e-2", "user": "me", "kind": "follow", "target": "cy"},
            ]
        },
    )

    id: str = Field(
        min_length=1, max_length=128, pattern=r"^[!-~]+$", description="Client event id."
    )
    user: Handle
    kind: EventKind
    post: PostId | None = None
    target: Handle | None = None
    at: dt.datetime | None = Field(
        default=None, description="When it happened (default: received)."
    )
    value: float | None = Field(default=None, ge=0, le=1e9, allow_inf_nan=False, strict=True)

    @field_validator("at")
    @classmethod
    def _plausible_time(cls, at: dt.datetime | None) -> dt.datetime | None:
        if at is None:
            return None
        aware = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        if not 1970 <= aware.astimezone(dt.UTC).year < 2100:
            raise ValueError("must be between 1970 and 2099")
        return aware

    @model_validator(mode="after")
    def _needs(self) -> EventIn:
        if self.kind in TARGET_KINDS:
            if self.target is None or self.post is not None:
                raise ValueError(f"a {self.kind} event needs 'target' (a handle) and no 'post'")
        elif self.post is None or self.target is not None:
            raise ValueError(f"a {self.kind} event needs 'post' (a post id) and no 'target'")
        return self


#: ``POST /v1/events`` body: one event object, or a JSON array of 1 to :data:`MAX_BATCH`.
EventsIn = Annotated[
    Annotated[EventIn, Tag("one")]
    | Annotated[list[EventIn], Field(min_length=1, max_length=MAX_BATCH), Tag("batch")],
    Discriminator(lambda v: "batch" if isinstance(v, list) else "one"),
]


class EventResult(BaseModel):
    id: str
    status: Literal["accepted", "duplicate"]


class EventsOut(BaseModel):
    accepted: int
    duplicates: int
    results: list[EventResult]


class HealthOut(BaseModel):
    status: Literal["ok"]
    snapshot_counter: int
    store_counter: int
    accounts: int
    posts: int
