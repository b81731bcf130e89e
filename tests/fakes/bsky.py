"""A fake Bluesky AppView and a fake Jetstream, on 127.0.0.1, for tests and benchmarks.

:class:`Network` is a small world of accounts, follows, image posts and likes; :class:`FakeAppView`
serves it as XRPC in the lexicon shapes of ``bluesky-social/atproto`` (lexicons/app/bsky/...:
``actor.getProfile``, ``graph.getFollows`` → ``actor.defs#profileView``, ``feed.getAuthorFeed``
and ``feed.getActorLikes`` → ``feed.defs#feedViewPost`` with ``embed.images#view``, and
``com.atproto.server.createSession``, and a PDS's ``com.atproto.repo.listRecords`` of follow
records), through uvicorn in a thread. Switches: ``fail`` (answers
to give before the real one: 429 with ``ratelimit-*`` headers, 500), ``page_size`` (a server may
return fewer items than asked), ``raw_items`` (malformed feed items), ``hang_at`` (block the
n-th request, for a kill -9 test). :class:`FakeJetstream` replays Jetstream messages
(``{"did","time_us","kind":"commit","commit":{...}}``) over a websocket, filtering by
``wantedDids``/``wantedCollections`` and resuming from ``cursor``, as Jetstream does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fakes.serving import LocalServer

_B32 = "234567abcdefghijklmnopqrstuvwxyz"


def tid(seconds: float, clock: int = 0) -> str:
    """A TID record key for a time (53 bits of microseconds, 10 of clock id)."""
    value = (int(seconds * 1_000_000) << 10) | (clock & 1023)
    out = []
    for _ in range(13):
        out.append(_B32[value & 31])
        value >>= 5
    return "".join(reversed(out))


def cid(*parts: object) -> str:
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return "bafkrei" + base64.b32encode(digest).decode().lower().rstrip("=")[:52]


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


@dataclass
class Post:
    rkey: str
    text: str
    created: float
    alts: tuple[str, ...] = ("a photo",)
    tags: tuple[str, ...] = ()
    likes: int = 0
    replies: int = 0
    image: bool = True


@dataclass
class Account:
    did: str
    handle: str
    name: str
    follows: list[str] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)  # newest first
    reposts: list[str] = field(default_factory=list)  # uris of others' posts


@dataclass
class Network:
    accounts: dict[str, Account] = field(default_factory=dict)
    likes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # did → (uri, rkey)
    passwords: dict[str, str] = field(default_factory=dict)
    follow_rkeys: dict[tuple[str, str], str] = field(default_factory=dict)  # (did, subject)

    def add(self, did: str, handle: str, name: str, follows: list[str]) -> Account:
        self.accounts[did] = Account(did, handle, name, follows)
        return self.accounts[did]

    def did_of(self, actor: str) -> str | None:
        if actor in self.accounts:
            return actor
        return next((a.did for a in self.accounts.values() if a.handle == actor), None)

    def post(self, did: str, text: str, created: float, **kw: Any) -> str:
        p = Post(tid(created, len(self.accounts[did].posts)), text, created, **kw)
        self.accounts[did].posts.insert(0, p)
        self.accounts[did].posts.sort(key=lambda q: -q.created)
        return f"at://{did}/app.bsky.feed.post/{p.rkey}"

    def like(self, did: str, uri: str, at: float) -> str:
        rkey = tid(at, 7)
        self.likes.setdefault(did, []).insert(0, (uri, rkey))
        return rkey

    def follow_rkey(self, did: str, subject: str) -> str:
        """The record key of ``did``'s follow of ``subject`` (stable once handed out)."""
        key = (did, subject)
        if key not in self.follow_rkeys:
            self.follow_rkeys[key] = tid(1_700_000_000 + len(self.follow_rkeys), 5)
        return self.follow_rkeys[key]

    def find(self, uri: str) -> tuple[Account, Post] | None:
        did, _, rkey = uri[len("at://") :].split("/")
        acct = self.accounts.get(did)
        p = next((p for p in acct.posts if p.rkey == rkey), None) if acct else None
        return (acct, p) if acct and p else None

    def delete_post(self, uri: str) -> None:
        acct, p = self.find(uri) or (None, None)
        if acct and p:
            acct.posts.remove(p)

    # ------------------------------------------------------------ lexicon views
    def profile_basic(self, a: Account) -> dict[str, Any]:
        return {
            "did": a.did,
            "handle": a.handle,
            "displayName": a.name,
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{a.did}/{cid(a.did)}@jpeg",
            "createdAt": "2023-05-01T12:00:00.000Z",
            "labels": [],
        }

    def profile_view(self, a: Account) -> dict[str, Any]:
        return {
            **self.profile_basic(a),
            "description": f"photos by {a.name}",
            "indexedAt": "2024-01-01T00:00:00.000Z",
        }

    def profile_detailed(self, a: Account) -> dict[str, Any]:
        followers = sum(a.did in b.follows for b in self.accounts.values())
        return {
            **self.profile_view(a),
            "followersCount": followers,
            "followsCount": len(a.follows),
            "postsCount": len(a.posts),
        }

    def post_view(self, a: Account, p: Post, viewer_like: str | None = None) -> dict[str, Any]:
        uri = f"at://{a.did}/app.bsky.feed.post/{p.rkey}"
        blob = cid(uri, "img")
        data = p.text.encode()
        facets = []
        for tag in p.tags:
            start = data.find(f"#{tag}".encode())
            if start >= 0:
                end = start + len(f"#{tag}".encode())
                facets.append(
                    {
                        "index": {"byteStart": start, "byteEnd": end},
                        "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
                    }
                )
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": p.text,
            "createdAt": iso(p.created),
            "langs": ["en"],
        }
        if facets:
            record["facets"] = facets
        extra = [t for t in p.tags if f"#{t}" not in p.text]
        if extra:
            record["tags"] = extra
        view: dict[str, Any] = {
            "uri": uri,
            "cid": cid(uri),
            "author": self.profile_basic(a),
            "record": record,
            "replyCount": p.replies,
            "repostCount": 0,
            "likeCount": p.likes,
            "quoteCount": 0,
            "bookmarkCount": 0,
            "indexedAt": iso(p.created + 1),
            "labels": [],
        }
        if p.image:
            images = [
                {
                    "alt": alt,
                    "image": {
                        "$type": "blob",
                        "ref": {"$link": cid(uri, "img", n)},
                        "mimeType": "image/jpeg",
                        "size": 123456,
                    },
                    "aspectRatio": {"width": 1200, "height": 900},
                }
                for n, alt in enumerate(p.alts)
            ]
            record["embed"] = {"$type": "app.bsky.embed.images", "images": images}
            view["embed"] = {
                "$type": "app.bsky.embed.images#view",
                "images": [
                    {
                        "thumb": f"https://cdn.bsky.app/img/feed_thumbnail/plain/{a.did}/{blob}@jpeg",
                        "fullsize": f"https://cdn.bsky.app/img/feed_fullsize/plain/{a.did}/{blob}@jpeg",
                        "alt": alt,
                        "aspectRatio": {"width": 1200, "height": 900},
                    }
                    for alt in p.alts
                ],
            }
        if viewer_like:
            view["viewer"] = {"like": viewer_like}
        return view


def known_network(now: float) -> Network:
    """Ten accounts whose right feeds are known (times relative to ``now``).

    me follows ana, bob, cam; ana follows bob, dan, eve; bob follows dan, fay; cam follows gus;
    dan follows hal (third degree: never synced at depth 2). Every account posts image posts;
    dan and eve post #mountains, which me likes twice; one text-only post of ana's is left out
    by ``posts_with_media``; ana reposts one of dan's posts (a repost, not ana's post).
    """
    net = Network()
    h = 3600.0
    people = {
        "me": ["ana", "bob", "cam"],
        "ana": ["bob", "dan", "eve"],
        "bob": ["dan", "fay"],
        "cam": ["gus"],
        "dan": ["hal"],
        "eve": [],
        "fay": [],
        "gus": [],
        "hal": ["me"],
    }
    for name, follows in people.items():
        net.add(f"did:plc:{name}", f"{name}.test", name.title(), [f"did:plc:{f}" for f in follows])
    net.passwords["did:plc:me"] = "app-pass-1234"
    topics = {
        "ana": ("city", "street"),
        "bob": ("food", "coffee"),
        "cam": ("cats", "pets"),
        "dan": ("mountains", "hiking"),
        "eve": ("mountains", "lakes"),
        "fay": ("food", "baking"),
        "gus": ("cats", "garden"),
        "hal": ("cars", "night"),
        "me": ("sky", "clouds"),
    }
    for n, (name, tags) in enumerate(topics.items()):
        did = f"did:plc:{name}"
        for k in range(3):
            tag = tags[k % 2]
            net.post(
                did,
                f"{name} shot {k} #{tag}",
                now - (n * 3 + k + 1) * h,
                tags=(tag,) if k != 2 else (tag, "photo"),
                alts=(f"{tag} picture {k}",),
                likes=10 * (3 - k) + n,
                replies=k,
            )
    net.post("did:plc:ana", "just words #city", now - 0.5 * h, image=False)
    net.accounts["did:plc:ana"].reposts.append(
        f"at://did:plc:dan/app.bsky.feed.post/{net.accounts['did:plc:dan'].posts[0].rkey}"
    )
    net.like(
        "did:plc:me",
        f"at://did:plc:dan/app.bsky.feed.post/{net.accounts['did:plc:dan'].posts[0].rkey}",
        now - 2 * h,
    )
    net.like(
        "did:plc:me",
        f"at://did:plc:eve/app.bsky.feed.post/{net.accounts['did:plc:eve'].posts[0].rkey}",
        now - 1 * h,
    )
    return net


class FakeAppView:
    """The network as XRPC on ``http://127.0.0.1:<port>`` (a context manager)."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.fail: dict[str, list[int]] = {}
        self.remaining_zero: set[str] = set()  # NSIDs answered with ratelimit-remaining: 0 once
        self.page_size = 100
        self.raw_items: dict[str, list[dict[str, Any]]] = {}  # did → extra feed items on top
        self.raw_follows: dict[str, list[dict[str, Any]]] = {}  # did → extra profile views
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.hang_at: int | None = None
        self.hanging = threading.Event()
        self.release = threading.Event()
        self.delay = 0.0
        self.url = ""

    # ------------------------------------------------------------------ app
    def app(self) -> Any:
        api = FastAPI()

        def error(status: int, name: str, message: str, **headers: str) -> JSONResponse:
            return JSONResponse({"error": name, "message": message}, status, headers=headers)

        @api.api_route("/xrpc/{nsid}", methods=["GET", "POST"])
        async def xrpc(nsid: str, request: Request) -> Any:
            params = dict(request.query_params)
            self.requests.append((nsid, params))
            if self.hang_at is not None and len(self.requests) >= self.hang_at:
                self.hanging.set()
                await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            if self.delay:
                await asyncio.sleep(self.delay)
            queue = self.fail.get(nsid)
            if queue:
                status = queue.pop(0)
                if status == 429:
                    reset = str(int(time.time()) + 1)
                    return error(
                        429,
                        "RateLimitExceeded",
                        "Rate Limit Exceeded",
                        **{"ratelimit-limit": "3000", "ratelimit-remaining": "0",
                           "ratelimit-reset": reset, "ratelimit-policy": "3000;w=300"},
                    )  # fmt: skip
                return error(status, "InternalServerError", "Internal Server Error")
            body = await request.body()
            try:
                answer = self.answer(nsid, params, request.headers.get("authorization"), body)
            except _XrpcError as exc:
                return error(exc.status, exc.name, exc.message)
            headers = {"ratelimit-limit": "3000", "ratelimit-remaining": "2999"}
            if nsid in self.remaining_zero:
                self.remaining_zero.discard(nsid)
                headers = {"ratelimit-remaining": "0", "ratelimit-reset": str(int(time.time()) + 1)}
            return JSONResponse(answer, headers=headers)

        return api

    def answer(self, nsid: str, q: dict[str, str], auth: str | None, body: bytes) -> Any:
        net = self.net
        if nsid == "com.atproto.server.createSession":
            creds = json.loads(body or b"{}")
            did = net.did_of(str(creds.get("identifier")))
            if did is None or net.passwords.get(did) != creds.get("password"):
                raise _XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
            a = net.accounts[did]
            return {"accessJwt": _jwt(did, "com.atproto.access"), "refreshJwt": _jwt(did, "com.atproto.refresh"),
                    "handle": a.handle, "did": did, "active": True}  # fmt: skip
        start = int(q.get("cursor") or 0)
        size = min(int(q.get("limit") or 50), self.page_size)
        if nsid == "com.atproto.repo.listRecords":
            return self.list_records(q.get("repo", ""), q.get("collection", ""), start, size)
        did = net.did_of(q.get("actor", ""))
        if did is None:
            raise _XrpcError(400, "InvalidRequest", "Profile not found")
        a = net.accounts[did]
        if nsid == "app.bsky.actor.getProfile":
            return net.profile_detailed(a)
        if nsid == "app.bsky.graph.getFollows":
            items = self.raw_follows.get(did, []) + [
                net.profile_view(net.accounts[f]) for f in a.follows if f in net.accounts
            ]
            return _page("follows", items, start, size, subject=net.profile_view(a))
        if nsid == "app.bsky.feed.getAuthorFeed":
            items = list(self.raw_items.get(did, []))
            for p in a.posts:
                if p.image or q.get("filter") != "posts_with_media":
                    items.append({"post": net.post_view(a, p)})
            for uri in a.reposts:
                found = net.find(uri)
                if found:
                    items.insert(0, {"post": net.post_view(*found), "reason": {
                        "$type": "app.bsky.feed.defs#reasonRepost", "by": net.profile_basic(a),
                        "indexedAt": iso(time.time())}})  # fmt: skip
            return _page("feed", items, start, size)
        if nsid == "app.bsky.feed.getActorLikes":
            if auth != f"Bearer {_jwt(did, 'com.atproto.access')}":
                raise _XrpcError(401, "AuthenticationRequired", "Authentication Required")
            items = []
            for uri, rkey in net.likes.get(did, []):
                found = net.find(uri)
                if found:
                    like = f"at://{did}/app.bsky.feed.like/{rkey}"
                    items.append({"post": net.post_view(*found, viewer_like=like)})
            return _page("feed", items, start, size)
        raise _XrpcError(501, "MethodNotImplemented", f"{nsid} is not served here")

    def list_records(self, repo: str, collection: str, start: int, size: int) -> Any:
        """``com.atproto.repo.listRecords`` (a PDS's): the follow records of a repository."""
        did = self.net.did_of(repo)
        if did is None:
            raise _XrpcError(400, "RepoNotFound", f"Could not find repo: {repo}")
        records = []
        if collection == "app.bsky.graph.follow":
            for f in self.net.accounts[did].follows:
                rkey = self.net.follow_rkey(did, f)
                value = {"$type": collection, "subject": f, "createdAt": "2024-01-01T00:00:00.000Z"}
                records.append({"uri": f"at://{did}/{collection}/{rkey}", "cid": cid(did, f),
                                "value": value})  # fmt: skip
        return _page("records", records, start, size)

    def count(self, nsid: str) -> int:
        return sum(n == nsid for n, _ in self.requests)

    # ------------------------------------------------------------- serving
    def __enter__(self) -> FakeAppView:
        self._local = LocalServer(self.app(), "fake AppView")
        self.url = self._local.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._local.stop()


class _XrpcError(Exception):
    def __init__(self, status: int, name: str, message: str) -> None:
        self.status, self.name, self.message = status, name, message


def _page(key: str, items: list[Any], start: int, size: int, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {**extra, key: items[start : start + size]}
    if start + size < len(items):
        out["cursor"] = str(start + size)
    return out


def _jwt(did: str, scope: str) -> str:
    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    now = 1_700_000_000  # fixed, so the token of a DID is always the same string
    payload = {"scope": scope, "sub": did, "iat": now, "exp": 4_000_000_000, "aud": "did:web:fake"}
    return f"{b64({'typ': 'at+jwt', 'alg': 'ES256K'})}.{b64(payload)}.c2ln"


# ----------------------------------------------------------------- Jetstream
def commit(
    did: str, time_us: int, op: str, collection: str, rkey: str, record: dict | None = None
) -> dict:
    """One Jetstream commit message."""
    body: dict[str, Any] = {
        "rev": tid(time_us / 1e6, 3),
        "operation": op,
        "collection": collection,
        "rkey": rkey,
    }
    if op != "delete":
        body["record"] = {"$type": collection, **(record or {})}
        body["cid"] = cid(did, rkey)
    return {"did": did, "time_us": time_us, "kind": "commit", "commit": body}


class FakeJetstream:
    """Replays ``messages`` (ordered by ``time_us``) to each connection on ``ws://127.0.0.1``.

    ``drop_after``: close the first connection after that many messages (a reconnect test);
    ``filter_dids``: honour ``wantedDids`` (off: send every DID, as an unfiltered stream).
    """

    def __init__(
        self,
        messages: list[dict[str, Any]],
        *,
        drop_after: int | None = None,
        filter_dids: bool = True,
    ) -> None:
        self.messages = messages
        # encoded once: a benchmark's replay should cost what a remote server's sending does
        # to the consumer, not this process's json.dumps per message
        self._texts = [json.dumps(m) for m in messages]
        self.drop_after = drop_after
        self.filter_dids = filter_dids
        self.connections: list[dict[str, list[str]]] = []
        self.url = ""

    async def _handler(self, ws: Any) -> None:
        query = parse_qs(urlsplit(ws.request.path).query)
        self.connections.append(query)
        dids = set(query.get("wantedDids", []))
        if query.get("requireHello") == ["true"]:
            hello = json.loads(await ws.recv())
            dids = set(hello["payload"].get("wantedDids", []))
        collections = set(query.get("wantedCollections", []))
        cursor = int(query.get("cursor", ["0"])[0])
        sent = 0
        for m, text in zip(self.messages, self._texts, strict=True):
            if m["time_us"] < cursor:
                continue
            if self.filter_dids and dids and m["did"] not in dids:
                continue
            if collections and m.get("commit", {}).get("collection") not in collections:
                continue
            await ws.send(text)
            sent += 1
            if (
                self.drop_after is not None
                and len(self.connections) == 1
                and sent >= self.drop_after
            ):
                await ws.close()
                return
        with contextlib.suppress(Exception):
            await ws.wait_closed()

    def __enter__(self) -> FakeJetstream:
        from websockets.asyncio.server import serve

        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def main() -> None:
            self._stop = asyncio.Event()
            async with serve(self._handler, "127.0.0.1", 0, max_size=None) as server:
                port = next(iter(server.sockets)).getsockname()[1]
                self.url = f"ws://127.0.0.1:{port}/subscribe"
                ready.set()
                await self._stop.wait()

        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(main(),), daemon=True
        )
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


@contextlib.contextmanager
def closed_port() -> Iterator[str]:
    """A URL on 127.0.0.1 where nothing listens (no network)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield f"http://127.0.0.1:{port}"
