"""A fake Mastodon (or Pixelfed) server on 127.0.0.1, for the Mastodon connector's tests.

:class:`Instance` is a small world of accounts, follows, statuses with media, favourites and
followed tags; :class:`FakeMastodon` serves it through uvicorn in a thread as the Mastodon
client API in the entity shapes of ``mastodon/documentation`` (content/en/entities/Account.md,
Status.md, MediaAttachment.md, Tag.md, V1_Instance.md) and the requests Mastodon.py 2.x makes:
``/api/v1/instance``, ``/api/v2/instance``, ``/api/v1/accounts/verify_credentials``,
``/api/v1/accounts/lookup``, ``/api/v1/accounts/search``, ``/api/v1/accounts/:id/following``,
``/api/v1/accounts/:id/statuses`` (``only_media``, ``exclude_reblogs``, ``max_id``,
``since_id``, ``min_id``, ``limit``), ``/api/v1/favourites``, ``/api/v1/followed_tags`` and
``/api/v1/timelines/tag/:tag``, paginated with ``Link`` headers (``rel="next"`` carries
``max_id``, ``rel="prev"`` ``min_id``) as Mastodon sends them.

``flavor="pixelfed"`` answers as Pixelfed does (shared/reference/connectors.md §3.2): every
endpoint needs a token, there is no ``/accounts/lookup`` nor ``/api/v2/instance``, the version
reads ``"3.5.3 (compatible; Pixelfed 0.12.4)"``, status URLs are ``/p/<user>/<id>`` and
favourites carry ``liked_at``.

Switches: ``fail`` (per endpoint, answers to give before the real one: 429 with
``X-RateLimit-*`` headers resetting in a second, or a 5xx), ``raw_statuses`` /
``raw_following`` (malformed entities served first), ``hang_at`` (block the n-th request, for
a kill -9 test); deletions are made by editing the world between syncs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from fakes.serving import LocalServer


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Status:
    id: int
    created: float
    html: str
    media: list[dict[str, Any]] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    favourites: int = 0
    replies: int = 0
    visibility: str = "public"
    reblog: bool = False


@dataclass
class Account:
    id: int
    username: str
    domain: str | None = None  # None: local to this instance
    name: str = ""
    following: list[int] = field(default_factory=list)  # most recent follow first
    statuses: list[Status] = field(default_factory=list)


@dataclass
class Instance:
    domain: str
    flavor: str = "mastodon"
    accounts: dict[int, Account] = field(default_factory=dict)
    favourites: dict[int, list[tuple[int, int, float]]] = field(default_factory=dict)
    followed_tags: dict[int, list[str]] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)

    def add(self, ident: int, username: str, domain: str | None = None, name: str = "") -> Account:
        self.accounts[ident] = Account(ident, username, domain, name or username.title())
        return self.accounts[ident]

    def status(self, ident: int) -> tuple[Account, Status] | None:
        for a in self.accounts.values():
            for s in a.statuses:
                if s.id == ident:
                    return a, s
        return None

    # ------------------------------------------------------------ entities
    def account_entity(self, a: Account) -> dict[str, Any]:
        domain = a.domain or self.domain
        url = f"https://{domain}/@{a.username}"
        return {
            "id": str(a.id), "username": a.username,
            "acct": a.username if a.domain is None else f"{a.username}@{a.domain}",
            "display_name": a.name, "locked": False, "bot": False, "discoverable": True,
            "group": False, "created_at": "2022-05-01T10:00:00.000Z", "note": "<p>photos</p>",
            "url": url, "avatar": f"https://{domain}/avatars/{a.id}.png",
            "avatar_static": f"https://{domain}/avatars/{a.id}.png",
            "header": f"https://{domain}/headers/{a.id}.png",
            "header_static": f"https://{domain}/headers/{a.id}.png",
            "followers_count": sum(a.id in b.following for b in self.accounts.values()),
            "following_count": len(a.following), "statuses_count": len(a.statuses),
            "last_status_at": "2024-01-01", "emojis": [], "fields": [],
        }  # fmt: skip

    def status_entity(self, a: Account, s: Status) -> dict[str, Any]:
        domain = a.domain or self.domain
        if self.flavor == "pixelfed":
            url = uri = f"https://{domain}/p/{a.username}/{s.id}"
        else:
            url = f"https://{domain}/@{a.username}/{s.id}"
            uri = f"https://{domain}/users/{a.username}/statuses/{s.id}"
        return {
            "id": str(s.id), "created_at": iso(s.created), "in_reply_to_id": None,
            "in_reply_to_account_id": None, "sensitive": False, "spoiler_text": "",
            "visibility": s.visibility, "language": "en", "uri": uri, "url": url,
            "replies_count": s.replies, "reblogs_count": 0, "favourites_count": s.favourites,
            "favourited": False, "reblogged": False, "muted": False, "bookmarked": False,
            "content": s.html, "reblog": None, "application": {"name": "Web", "website": None},
            "account": self.account_entity(a), "media_attachments": s.media, "mentions": [],
            "tags": [{"name": t, "url": f"https://{domain}/tags/{t}"} for t in s.tags],
            "emojis": [], "card": None, "poll": None, "edited_at": None,
        }  # fmt: skip


def image(n: int, alt: str | None = "a photo", kind: str = "image") -> dict[str, Any]:
    """A MediaAttachment entity (MediaAttachment.md's image example, renumbered)."""
    base = f"https://files.example/media/{n:06d}"
    return {
        "id": str(n), "type": kind, "url": f"{base}/original.jpg",
        "preview_url": f"{base}/small.jpg", "remote_url": None,
        "meta": {"original": {"width": 640, "height": 480, "size": "640x480", "aspect": 1.33},
                 "small": {"width": 461, "height": 346, "size": "461x346", "aspect": 1.33}},
        "description": alt, "blurhash": "UFBWY:8_0Jxv4mx]t8t64.%M-:IUWGWAt6M}",
    }  # fmt: skip


def html(text: str, tags: tuple[str, ...], domain: str) -> str:
    """Status content as Mastodon renders it: paragraphs, hashtag links with inner spans."""
    links = " ".join(
        f'<a href="https://{domain}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
        for t in tags
    )
    return f"<p>{text}{' ' + links if links else ''}</p>"


class _Answer(Exception):
    def __init__(self, status: int, error: str) -> None:
        self.status, self.error = status, error


class FakeMastodon:
    """The instance as the Mastodon API on ``http://127.0.0.1:<port>`` (a context manager)."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.fail: dict[str, list[int]] = {}  # endpoint name → statuses to answer first
        self.raw_statuses: dict[int, list[Any]] = {}
        self.raw_following: dict[int, list[Any]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.hang_at: int | None = None
        self.hanging = threading.Event()
        self.release = threading.Event()
        self.url = ""

    def count(self, endpoint: str) -> int:
        return sum(e == endpoint for e, _ in self.requests)

    def app(self) -> Any:
        api = FastAPI()

        @api.get("/{path:path}")
        async def serve(path: str, request: Request) -> Any:
            q = dict(request.query_params)
            endpoint = _endpoint(path)
            self.requests.append((endpoint, q))
            if self.hang_at is not None and len(self.requests) >= self.hang_at:
                self.hanging.set()
                await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            queue = self.fail.get(endpoint)
            if queue:
                status = queue.pop(0)
                if status == 429:
                    headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                               "X-RateLimit-Reset": iso(time.time() + 1.5)}  # fmt: skip
                    return JSONResponse({"error": "Too many requests"}, 429, headers=headers)
                return JSONResponse({"error": "Internal server error"}, status)
            token = (request.headers.get("authorization") or "").removeprefix("Bearer ")
            try:
                body, link = self.answer(path, q, self.inst.tokens.get(token), bool(token))
            except _Answer as exc:
                if exc.status == 404 and not exc.error:  # a route the server does not have
                    return HTMLResponse("<html><body>Not Found</body></html>", 404)
                return JSONResponse({"error": exc.error}, exc.status)
            headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299",
                       "X-RateLimit-Reset": iso(time.time() + 300)}  # fmt: skip
            if link:
                headers["Link"] = link
            return JSONResponse(body, headers=headers)

        return api

    def answer(self, path: str, q: dict[str, str], me: int | None, sent: bool) -> Any:
        inst, pixelfed = self.inst, self.inst.flavor == "pixelfed"
        if sent and me is None:
            raise _Answer(401, "The access token is invalid")
        if path.rstrip("/") == "api/v1/instance":
            version = "3.5.3 (compatible; Pixelfed 0.12.4)" if pixelfed else "4.3.2"
            return {"uri": inst.domain, "title": inst.domain, "version": version,
                    "short_description": "", "description": "", "email": "",
                    "urls": {}, "stats": {}, "languages": ["en"]}, None  # fmt: skip
        if path.rstrip("/") == "api/v2/instance" and not pixelfed:
            return {"domain": inst.domain, "title": inst.domain, "version": "4.3.2"}, None
        if pixelfed and me is None:
            raise _Answer(401, "Unauthenticated.")
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "accounts"] and len(parts) == 4:
            if parts[3] == "verify_credentials":
                if me is None:
                    raise _Answer(401, "The access token is invalid")
                return inst.account_entity(inst.accounts[me]), None
            if parts[3] == "lookup" and not pixelfed:
                for a in inst.accounts.values():
                    acct = a.username if a.domain is None else f"{a.username}@{a.domain}"
                    if acct.lower() == q.get("acct", "").lower().lstrip("@"):
                        return inst.account_entity(a), None
                raise _Answer(404, "Record not found")
            if parts[3] == "search":
                hits = [
                    a
                    for a in inst.accounts.values()
                    if q.get("q", "").lower() in a.username.lower()
                ]
                return [inst.account_entity(a) for a in hits[: int(q.get("limit", 40))]], None
            raise _Answer(404, "")
        if parts[:3] == ["api", "v1", "accounts"] and len(parts) == 5:
            a = inst.accounts.get(int(parts[3])) if parts[3].isdigit() else None
            if a is None:
                raise _Answer(404, "Record not found")
            if parts[4] == "following":
                rows = [(len(a.following) - i, inst.accounts[f]) for i, f in enumerate(a.following)]
                raw = [(10_000 + i, r) for i, r in enumerate(self.raw_following.get(a.id, []))]
                items = [(n, inst.account_entity(b)) for n, b in rows] + raw
                items.sort(key=lambda x: -x[0])
                return self._page(f"api/v1/accounts/{a.id}/following", items, q, 40, 80)
            if parts[4] == "statuses":
                return self._statuses(a, q)
        if path.strip("/") == "api/v1/favourites":
            if me is None:
                raise _Answer(401, "This method requires an authenticated user")
            items = []
            for fav_id, sid, liked in inst.favourites.get(me, []):
                found = inst.status(sid)
                if found:
                    entity = inst.status_entity(*found)
                    if pixelfed:
                        entity["liked_at"] = iso(liked)
                    items.append((fav_id, entity))
            items.sort(key=lambda x: -x[0])
            return self._page("api/v1/favourites", items, q, 20, 40)
        if path.strip("/") == "api/v1/followed_tags":
            if me is None:
                raise _Answer(401, "This method requires an authenticated user")
            domain = inst.domain
            return [{"name": t, "url": f"https://{domain}/tags/{t}", "history": [], "following": True}
                    for t in inst.followed_tags.get(me, [])], None  # fmt: skip
        if parts[:3] == ["api", "v1", "timelines"] and len(parts) == 5 and parts[3] == "tag":
            tag = parts[4].lower()
            found = [(s.id, inst.status_entity(a, s)) for a in inst.accounts.values()
                     for s in a.statuses if tag in (t.lower() for t in s.tags) and s.visibility == "public"
                     and (s.media or q.get("only_media") not in ("true", "1"))]  # fmt: skip
            found.sort(key=lambda x: -x[0])
            return [e for _, e in found[: int(q.get("limit", 20))]], None
        raise _Answer(404, "")

    def _statuses(self, a: Account, q: dict[str, str]) -> Any:
        only_media = q.get("only_media") in ("true", "1")
        no_boosts = q.get("exclude_reblogs") in ("true", "1")
        rows = [(s.id, self.inst.status_entity(a, s)) for s in a.statuses
                if (s.media or not only_media) and not (s.reblog and no_boosts)
                and s.visibility != "direct"]  # fmt: skip
        for n, raw in enumerate(self.raw_statuses.get(a.id, [])):
            rows.append((2**62 + n, raw))  # malformed entities come first (newest)
        rows.sort(key=lambda x: -x[0])
        return self._page(f"api/v1/accounts/{a.id}/statuses", rows, q, 20, 40)

    def _page(self, route: str, items: list[tuple[int, Any]], q: dict[str, str], default: int,
              most: int) -> tuple[list[Any], str | None]:  # fmt: skip
        """A page of ``items`` (``(pagination id, entity)``, newest first) as Mastodon pages."""
        limit = min(int(q.get("limit", default)), most)
        if "max_id" in q:
            items = [x for x in items if x[0] < int(q["max_id"])]
        if "since_id" in q:
            items = [x for x in items if x[0] > int(q["since_id"])]
        if "min_id" in q:  # the page just above min_id, still newest first
            items = [x for x in items if x[0] > int(q["min_id"])][-limit:]
        page = items[:limit]
        if not page:
            return [], None
        base = f"{self.url}/{route}"
        link = f'<{base}?limit={limit}&max_id={page[-1][0]}>; rel="next", ' \
               f'<{base}?limit={limit}&min_id={page[0][0]}>; rel="prev"'  # fmt: skip
        return [e for _, e in page], link

    # ------------------------------------------------------------- serving
    def __enter__(self) -> FakeMastodon:
        self._local = LocalServer(self.app(), "fake Mastodon")
        self.url = self._local.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._local.stop()


def _endpoint(path: str) -> str:
    """A request's endpoint name, ids replaced: ``api/v1/accounts/:id/statuses``."""
    parts = path.strip("/").split("/")
    if len(parts) == 5 and parts[2] == "accounts":
        parts[3] = ":id"
    if len(parts) == 5 and parts[2] == "timelines":
        parts[4] = ":tag"
    return "/".join(parts)


HOUR = 3600


def photo_network(now: float) -> Instance:
    """The recorded network of the tests, on ``photos.example`` (Mastodon), times before ``now``.

    ana follows bo, cy, dee and lena@pix.example; bo follows eve, fay, cy; cy follows eve, gus;
    dee follows eve and ana; lena follows hal. Image statuses: bo (#sunset 2 h ago, #bike 30 h,
    one 60 days old, one text-only), cy (#mountains 5 h, a gifv 10 h), dee (#coffee 1 h, one
    followers-only), lena (#film 4 h), eve (#mountains #snow 6 h, #mountains 20 h), fay
    (#mountains 7 h), gus (#film #35mm 8 h), hal (#film 9 h), ivy (#film 3 h), ana (#me 12 h);
    and one more each (#street, #cat, #food, #travel) 8 to 26 h old, so that no tag sits on
    most posts.
    ana (token ``ana-token``) favourited eve's 6 h, fay's and cy's #mountains posts and follows
    the tag #film.
    """
    inst = Instance("photos.example")
    names = ["ana", "bo", "cy", "dee", "eve", "fay", "gus", "lena", "hal", "ivy"]
    accounts = {
        n: inst.add(i + 1, n, "pix.example" if n == "lena" else None) for i, n in enumerate(names)
    }
    follows = {"ana": ["bo", "cy", "dee", "lena"], "bo": ["eve", "fay", "cy"], "cy": ["eve", "gus"],
               "dee": ["eve", "ana"], "lena": ["hal"], "fay": ["ana"], "gus": ["ivy"]}  # fmt: skip
    for name, targets in follows.items():
        accounts[name].following = [accounts[t].id for t in targets]
    seq = iter(range(1, 1000))

    def post(who: str, hours: float, text: str, tags: tuple[str, ...] = (), media: bool = True,
             **kw: Any) -> Status:  # fmt: skip
        created = now - hours * HOUR
        n = next(seq)
        domain = accounts[who].domain or inst.domain
        s = Status(int(created) * 1000 + n, created, html(text, tags, domain),
                   [image(n, f"{text} (photo)")] if media else [], tags, favourites=n % 5,
                   replies=n % 3, **kw)  # fmt: skip
        accounts[who].statuses.append(s)
        return s

    post("bo", 2, "Sunset over the bay", ("sunset",))
    post("bo", 3, "Just words today", media=False)
    post("bo", 30, "Morning ride", ("bike",))
    post("bo", 60 * 24, "An old one", ("archive",))
    c1 = post("cy", 5, "Summit", ("mountains",))
    gif = post("cy", 10, "Loop", ("timelapse",))
    gif.media = [image(900, None, "gifv")]
    post("dee", 1, "Flat white", ("coffee",))
    post("dee", 2.5, "Only for followers", ("secret",), visibility="private")
    post("lena", 4, "Grain", ("film",))
    e1 = post("eve", 6, "Ridge line", ("mountains", "snow"))
    post("eve", 20, "Valley", ("mountains",))
    f1 = post("fay", 7, "Peaks at dawn", ("mountains",))
    post("gus", 8, "Portra", ("film", "35mm"))
    post("hal", 9, "Darkroom", ("film",))
    post("ivy", 3, "Expired roll", ("film",))
    post("ana", 12, "Me at the lake", ("me",))
    for who, hours, text, tag in [
        ("bo", 8, "Tram at night", "street"), ("cy", 14, "Cat on a wall", "cat"),
        ("dee", 15, "Croissant", "food"), ("eve", 16, "Harbour", "travel"),
        ("fay", 18, "Market", "food"), ("gus", 19, "Alley", "street"),
        ("hal", 21, "Bridge", "travel"), ("ivy", 22, "Tabby", "cat"),
        ("lena", 26, "Field", "travel"),
    ]:  # fmt: skip
        post(who, hours, text, (tag,))
    inst.tokens["ana-token"] = accounts["ana"].id
    inst.favourites[accounts["ana"].id] = [(3, e1.id, now - 3 * HOUR), (2, f1.id, now - 4 * HOUR),
                                           (1, c1.id, now - 5 * HOUR)]  # fmt: skip
    inst.followed_tags[accounts["ana"].id] = ["film"]
    return inst


def pixelfed_network(now: float) -> Instance:
    """``pix.example`` (Pixelfed): lena follows hal and mo, favourited mo's photo; token
    ``lena-token``; hal and mo post one photo each (#film, #portrait)."""
    inst = Instance("pix.example", flavor="pixelfed")
    lena, hal, mo = inst.add(1, "lena"), inst.add(2, "hal"), inst.add(3, "mo")
    lena.following = [hal.id, mo.id]
    t1, t2 = now - 2 * HOUR, now - 5 * HOUR
    hal.statuses.append(
        Status(700, t1, html("Darkroom", ("film",), inst.domain), [image(1)], ("film",), 4, 1)
    )
    mo.statuses.append(
        Status(
            701,
            t2,
            html("Window light", ("portrait",), inst.domain),
            [image(2)],
            ("portrait",),
            9,
            0,
        )
    )
    inst.tokens["lena-token"] = lena.id
    inst.favourites[lena.id] = [(1, 701, now - HOUR)]
    return inst
