"""What the feed generator tests stand on: signing keys, service JWTs, a fake PLC directory and
a fake PDS on 127.0.0.1, and a small Bluesky world written through the store.

Keys are generated here (secp256k1 and P-256, as atproto accounts use) and published in DID
documents shaped like plc.directory's (``verificationMethod`` ``#atproto`` of type ``Multikey``,
the SDK's own multibase encoding); JWTs are signed as atproto's ``createServiceJwt`` does
(compact ``r || s`` with low S, base64url without padding).

The world (``NOW`` = 1_700_000_000), posts keyed ``bsky:at://<did>/app.bsky.feed.post/<rkey>``::

    ana -> bob -> cy, dan;  cy -> dan;  eve and zed (an Instagram account) unconnected

    rkey   author  age   media     image  likes   in ana's explore?  fallback rank
    bob1   bob     1 h   photo     yes    5       no (followed)      4
    bob2   bob     3 h   photo     no     1       no (text only)     -
    cy1    cy      2 h   photo     yes    8       yes                3
    cy2    cy      5 h   carousel  yes    3       yes                6
    cy3    cy      10 d  photo     yes    1000    no (too old)       -
    dan1   dan     2 h   photo     yes    4       yes                5
    dan2   dan     4 h   video     yes    30      no (video)         -
    eve1   eve     1 h   photo     yes    900     yes                1
    eve2   eve     6 h   photo     yes    300     yes                2
    ana1   ana     1 h   photo     yes    2       no (own)           7
    ig:z1  zed     1 h   photo     yes    50      no (not Bluesky)   -
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from atproto_crypto.did import format_multikey
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from discovery.store import Store
from discovery.store.records import AccountRecord, PostRecord

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

NOW = 1_700_000_000
H, D = 3600, 86_400
SERVICE_DID = "did:web:feeds.example.com"
PUBLISHER = "did:plc:pub7xq2zv3k4m5n6b7c8d9fg"
DIDS = {
    name: f"did:plc:{name}{'x' * (24 - len(name))}" for name in ("ana", "bob", "cy", "dan", "eve")
}
STRANGER = "did:plc:frankxxxxxxxxxxxxxxxxxxx"  # has a DID document, no account in the store
POSTS = [  # rkey, author, age, media, image?, likes
    ("bob1", "bob", 1 * H, "photo", True, 5),
    ("bob2", "bob", 3 * H, "photo", False, 1),
    ("cy1", "cy", 2 * H, "photo", True, 8),
    ("cy2", "cy", 5 * H, "carousel", True, 3),
    ("cy3", "cy", 10 * D, "photo", True, 1000),
    ("dan1", "dan", 2 * H, "photo", True, 4),
    ("dan2", "dan", 4 * H, "video", True, 30),
    ("eve1", "eve", 1 * H, "photo", True, 900),
    ("eve2", "eve", 6 * H, "photo", True, 300),
    ("ana1", "ana", 1 * H, "photo", True, 2),
]
FOLLOWS = [("ana", "bob"), ("bob", "cy"), ("bob", "dan"), ("cy", "dan")]


def uri(rkey: str) -> str:
    """The at-uri of a post of the world."""
    author = next(a for r, a, *_ in POSTS if r == rkey)
    return f"at://{DIDS[author]}/app.bsky.feed.post/{rkey}"


def build_world(path: str | Path) -> str | Path:
    """Write the world (module docstring) through the store's typed API."""
    store = Store.open(path)
    with store.transaction():
        store.set_meta("now", NOW)
        accounts = [
            AccountRecord(f"bsky:{did}", f"{name}.test", name.title(), "person", NOW - 400 * D)
            for name, did in DIDS.items()
        ]
        ids = store.upsert_accounts([*accounts, AccountRecord("ig:zed", "zed", "Zed")])
        acct = {name: ids[f"bsky:{did}"] for name, did in DIDS.items()}
        posts = [
            PostRecord(
                "bsky:" + uri(rkey),
                acct[author],
                NOW - age,
                f"{rkey} #photo",
                media,
                f"https://cdn.example/{rkey}.jpg" if image else None,
                likes,
            )
            for rkey, author, age, media, image, likes in POSTS
        ]
        zed = PostRecord("ig:z1", ids["ig:zed"], NOW - H, "", "photo", "https://x/z.jpg", 50)
        store.upsert_posts([*posts, zed])
        store.add_follows((acct[a], acct[b], NOW - 100 * D) for a, b in FOLLOWS)
    store.close()
    return path


# ------------------------------------------------------------------ keys and tokens
class Key:
    """A signing key of an atproto account: ``ES256K`` (secp256k1) or ``ES256`` (P-256)."""

    ORDERS: ClassVar[dict[str, int]] = {
        "ES256K": 0xFFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFE_BAAEDCE6_AF48A03B_BFD25E8C_D0364141,
        "ES256": 0xFFFFFFFF_00000000_FFFFFFFF_FFFFFFFF_BCE6FAAD_A7179E84_F3B9CAC2_FC632551,
    }

    def __init__(self, alg: str = "ES256K") -> None:
        self.alg = alg
        curve = ec.SECP256K1() if alg == "ES256K" else ec.SECP256R1()
        self.private = ec.generate_private_key(curve)

    def multikey(self) -> str:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return format_multikey(self.alg, raw)

    def sign(self, data: bytes) -> bytes:
        r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
        order = self.ORDERS[self.alg]
        s = min(s, order - s)  # low-S, as atproto requires
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_jwt(
    key: Key | None,
    iss: str,
    *,
    aud: str = SERVICE_DID,
    exp: Any = None,
    lxm: str | None = "app.bsky.feed.getFeedSkeleton",
    alg: str | None = None,
    **extra: Any,
) -> str:
    """A service-auth JWT as a PDS mints it; ``key=None`` leaves it unsigned."""
    now = int(time.time())
    payload: dict[str, Any] = {"iat": now, "iss": iss, "aud": aud, "exp": exp or now + 60}
    if lxm is not None:
        payload["lxm"] = lxm
    payload["jti"] = _b64(now.to_bytes(8, "big"))
    payload.update(extra)
    header = {"typ": "JWT", "alg": alg or (key.alg if key else "none")}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = key.sign(signing_input.encode()) if key else b""
    return f"{signing_input}.{_b64(signature)}"


def did_document(did: str, key: Key, handle: str) -> dict[str, Any]:
    """A DID document shaped like plc.directory's."""
    return {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
            "https://w3id.org/security/suites/secp256k1-2019/v1",
        ],
        "id": did,
        "alsoKnownAs": [f"at://{handle}"],
        "verificationMethod": [
            {
                "id": f"{did}#atproto",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": key.multikey(),
            }
        ],
        "service": [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": "https://pds.example.com",
            }
        ],
    }


# ------------------------------------------------------------------ local servers
Route = Callable[[str, dict[str, str], bytes], tuple[int, Any]]


class LocalServer:
    """A tiny HTTP server on 127.0.0.1: ``route(method, path, headers, body) -> (status,
    json)``; every request is logged in :attr:`requests`."""

    def __init__(self, route: Callable[..., tuple[int, Any]]) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append((self.command, self.path, headers, body))
                status, out = route(self.command, self.path, headers, body)
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakePlc(LocalServer):
    """A PLC directory: ``GET /<did>`` answers the DID document, 404 for an unknown DID."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.hits: Counter[str] = Counter()
        super().__init__(self._route)

    def _route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        did = path.lstrip("/")
        self.hits[did] += 1
        if did not in self.docs:
            return 404, {"message": f"DID not registered: {did}"}
        return 200, self.docs[did]

    def publish(self, did: str, key: Key, handle: str = "someone.test") -> None:
        self.docs[did] = did_document(did, key, handle)


class FakePds(LocalServer):
    """A PDS with one account: ``com.atproto.server.createSession`` (app password) and
    ``com.atproto.repo.putRecord`` (records kept in :attr:`records`), in the lexicons' shapes."""

    def __init__(self, handle: str, did: str, password: str) -> None:
        self.handle, self.did, self.password = handle, did, password
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        exp = int(time.time()) + 7200
        claims = {"scope": "com.atproto.appPass", "sub": did, "iat": exp - 7200, "exp": exp}
        header = _b64(json.dumps({"typ": "at+jwt", "alg": "ES256K"}).encode())
        self.access = f"{header}.{_b64(json.dumps(claims).encode())}.c2lnbmF0dXJl"
        super().__init__(self._route)

    def _route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        if method == "POST" and path == "/xrpc/com.atproto.server.createSession":
            data = json.loads(body)
            if data.get("identifier") not in (self.handle, self.did) or (
                data.get("password") != self.password
            ):
                return 401, {
                    "error": "AuthenticationRequired",
                    "message": "Invalid identifier or password",
                }
            return 200, {
                "accessJwt": self.access,
                "refreshJwt": self.access,
                "handle": self.handle,
                "did": self.did,
                "active": True,
            }
        if method == "POST" and path == "/xrpc/com.atproto.repo.putRecord":
            if headers.get("authorization") != f"Bearer {self.access}":
                return 401, {"error": "AuthenticationRequired", "message": "Invalid token"}
            data = json.loads(body)
            if data.get("repo") not in (self.did, self.handle):
                return 400, {"error": "InvalidRequest", "message": "repo is not yours"}
            self.records[(data["collection"], data["rkey"])] = data["record"]
            at = f"at://{self.did}/{data['collection']}/{data['rkey']}"
            return 200, {
                "uri": at,
                "cid": "bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq",
            }
        return 404, {"error": "MethodNotImplemented", "message": f"{method} {path}"}


# ------------------------------------------------------------------ paging a feed
#: The publisher's feed-generator collection (a feed is ``FEED/<rkey>``) and the route.
FEED = f"at://{PUBLISHER}/app.bsky.feed.generator"
SKELETON = "/xrpc/app.bsky.feed.getFeedSkeleton"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pages(client: TestClient, token: str, feed: str, limit: int) -> list[list[str]]:
    """Every page of a feed, following cursors."""
    out: list[list[str]] = []
    cursor = None
    while len(out) < 50:
        params: dict[str, Any] = {"feed": feed, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = client.get(SKELETON, params=params, headers=bearer(token))
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) <= {"feed", "cursor"} and all(set(p) == {"post"} for p in body["feed"])
        out.append([p["post"] for p in body["feed"]])
        cursor = body.get("cursor")
        if cursor is None:
            return out
    raise AssertionError("the feed never ended")
