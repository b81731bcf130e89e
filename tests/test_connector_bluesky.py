"""`discovery sync bluesky` and `discovery stream bluesky` against local fakes (tests/fakes/bsky.py).

The recorded network (fakes.bsky.known_network) has known right answers: me follows ana, bob and
cam; their follows are dan, eve, fay and gus; hal is third degree; me likes two #mountains posts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("atproto", reason="the bluesky extra (atproto) is not installed")
pytest.importorskip("websockets", reason="the bluesky extra (websockets) is not installed")

from discovery.connectors.bluesky import Progress, SyncOptions, sync_bluesky
from discovery.connectors.jetstream import Consumer
from discovery.engine import Engine
from discovery.store import Store
from fakes.bsky import FakeAppView, FakeJetstream, closed_port, commit, iso, known_network, tid

ROOT = Path(__file__).resolve().parents[1]
FOLLOWS = {"ana.test", "bob.test", "cam.test"}
SECOND = {"dan.test", "eve.test", "fay.test", "gus.test"}
TABLES = ("accounts", "follows", "posts", "post_hashtags", "interactions")


def dump(db: Path) -> list[tuple]:
    with Store.open(db) as s:
        return [(t, *r) for t in TABLES for r in sorted(s._fetch(f"SELECT * FROM {t}"), key=repr)]


def cli(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    run = subprocess.run(
        [sys.executable, "-m", "discovery", "--db", str(db), *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    if check:
        assert run.returncode == 0, run.stderr
    return run


class Recorder(Progress):
    def __init__(self) -> None:
        self.waits: list[tuple[float, str]] = []

    def wait(self, seconds: float, why: str) -> None:
        self.waits.append((seconds, why))


def opts(fake: FakeAppView, **kw) -> SyncOptions:
    base = dict(service=fake.url, pds=fake.url, app_password="app-pass-1234", backoff=0.05)
    return SyncOptions(**{**base, **kw})


@pytest.fixture
def net():
    return known_network(time.time())


@pytest.fixture
def fake(net):
    with FakeAppView(net) as server:
        yield server


def sync(db: Path, fake: FakeAppView, progress: Progress | None = None, **kw):
    with Store.open(db) as store:
        return sync_bluesky(store, "me.test", opts(fake, **kw), progress or Progress())


def test_synced_network_serves_the_known_feeds(tmp_path, fake):
    db = tmp_path / "b.db"
    out = cli(db, "sync", "bluesky", "me.test", "--service", fake.url, "--pds", fake.url,
              "--app-password", "app-pass-1234").stdout  # fmt: skip
    assert "posts" in out and "likes" in out  # the summary table
    engine = Engine.open(db)
    timeline = engine.timeline("me.test", k=30)
    assert {i.author for i in timeline} == FOLLOWS
    explore = engine.explore("me.test", k=30)
    assert explore.items and {i.author for i in explore} <= SECOND  # followed by your follows
    interests = engine.interests("me.test", k=3)
    assert interests.items[0].tag == "mountains"  # both likes are #mountains posts
    item = timeline.items[0]
    assert item.image.startswith("https://cdn.bsky.app/img/feed_thumbnail/plain/did:plc:")
    assert "\n\nalt: " in item.caption
    with Store.open(db) as s:
        assert s.count("accounts") == 8 and s.count("posts") == 24  # no hal, text post, repost
        assert s.count("follows") == 9 and s.count("interactions") == 2
        assert "photo" in {t for (t,) in s._fetch("SELECT tag FROM hashtags")}  # record tags


def test_resync_is_idempotent_and_reads_only_what_is_new(tmp_path, fake, net):
    db = tmp_path / "b.db"
    fake.page_size = 2
    sync(db, fake)
    first = fake.count("app.bsky.feed.getAuthorFeed")
    rows, counter = dump(db), Store.open(db).change_counter
    n = len(fake.requests)
    sync(db, fake)
    assert dump(db) == rows and Store.open(db).change_counter == counter
    again = sum(nsid == "app.bsky.feed.getAuthorFeed" for nsid, _ in fake.requests[n:])
    assert again == 8 < first  # one page per account: it stops at the last seen post
    net.post("did:plc:ana", "new one #city", time.time() - 60, tags=("city",))
    summary = sync(db, fake)
    assert summary.counts["posts"]["new"] == 1


def test_deleted_post_and_like_disappear(tmp_path, fake, net):
    db = tmp_path / "b.db"
    sync(db, fake)
    eve = net.accounts["did:plc:eve"]
    gone = f"at://did:plc:eve/app.bsky.feed.post/{eve.posts[1].rkey}"
    net.delete_post(gone)
    net.likes["did:plc:me"] = net.likes["did:plc:me"][1:]  # the newest like withdrawn
    summary = sync(db, fake)
    assert summary.counts["posts"]["removed"] == 1 and summary.counts["likes"]["removed"] == 1
    with Store.open(db) as s:
        assert s.ids_for_keys("posts", [f"bsky:{gone}"]) == {}
        assert s.count("posts") == 23 and s.count("interactions") == 1


def test_rate_limits_and_5xx_wait_and_succeed(tmp_path, fake):
    clean = tmp_path / "clean.db"
    sync(clean, fake)
    fake.fail = {"app.bsky.graph.getFollows": [429], "app.bsky.feed.getAuthorFeed": [500, 503]}
    fake.remaining_zero = {"app.bsky.actor.getProfile"}
    rec = Recorder()
    started = time.monotonic()
    sync(tmp_path / "b.db", fake, rec)
    whys = [w for _, w in rec.waits]
    assert any("429" in w for w in whys) and any("ratelimit-remaining" in w for w in whys)
    assert sum("retrying after 5" in w for w in whys) == 2
    assert time.monotonic() - started >= 0.5
    same(tmp_path / "b.db", clean)


def test_malformed_records_are_skipped_and_counted(tmp_path, fake, net):
    good = net.post_view(net.accounts["did:plc:ana"], net.accounts["did:plc:ana"].posts[1])
    view = {
        "$type": "app.bsky.embed.images#view",
        "images": [{**good["embed"]["images"][0], "alt": "y" * 30_000}],
    }
    huge = {**good, "uri": good["uri"] + "x", "embed": view}  # alt text past the caption limit
    odd = {**good, "uri": good["uri"] + "z", "embed": {"$type": "app.bsky.embed.hologram#view"}}
    rich = {**good, "uri": good["uri"] + "w", "likeCount": 2**63}
    undated = {
        **good,
        "uri": good["uri"] + "v",
        "record": {"$type": "app.bsky.feed.post", "text": "x"},
    }
    fake.raw_items["did:plc:ana"] = [{"post": {"cid": "x"}}, {"post": huge}, {"post": odd},
                                     {"post": rich}, {"post": undated}]  # fmt: skip
    bidi = {
        **net.profile_view(net.accounts["did:plc:gus"]),
        "did": "did:plc:evil",
        "handle": "\u202egnp.exe",
    }
    fake.raw_follows["did:plc:me"] = [bidi, {"handle": "nodid.test"}]
    summary = sync(tmp_path / "b.db", fake)
    c = summary.counts
    assert c["posts"]["skipped"] == 5 and c["follows"]["skipped"] == c["accounts"]["skipped"] == 1
    reasons = " | ".join(summary.reasons)
    for part in (
        "malformed",
        "caption",
        "hologram",
        "likeCount",
        "not a valid app.bsky.feed.post",
        "handle",
    ):
        assert part in reasons
    with Store.open(tmp_path / "b.db") as s:
        assert s.count("posts") == 24 and s.count("accounts") == 8


def test_errors_are_one_line(tmp_path, fake):
    db = tmp_path / "b.db"
    for args, words in [
        (["nobody.test", "--service", fake.url], "no account 'nobody.test'"),
        (
            ["me.test", "--service", fake.url, "--pds", fake.url, "--app-password", "wrong"],
            "refused the login",
        ),
    ]:
        run = cli(db, "sync", "bluesky", *args, check=False)
        assert run.returncode == 1 and words in run.stderr
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    with closed_port() as url:
        run = cli(db, "sync", "bluesky", "me.test", "--service", url, "--retries", "1", check=False)
    assert run.returncode == 1 and "cannot be reached" in run.stderr and run.stderr.count("\n") == 1


def test_dry_run_writes_nothing(tmp_path, fake):
    db = tmp_path / "b.db"
    summary = sync(db, fake, dry_run=True)
    assert summary.counts["posts"]["new"] == 24
    with Store.open(db) as s:
        assert s.count("posts") == 0 and s.change_counter == 0


def test_killed_sync_resumes_without_duplicates(tmp_path, fake):
    clean = tmp_path / "clean.db"
    sync(clean, fake)
    fake.page_size, fake.requests = 1, []
    fake.hang_at = 20  # the 20th request never answers: the process is killed while it waits
    db = tmp_path / "b.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = ["--db", str(db), "sync", "bluesky", "me.test", "--service", fake.url, "--pds", fake.url,
            "--app-password", "app-pass-1234"]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "discovery", *args], env=env)
    assert fake.hanging.wait(60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Store.open(db) as s:
        assert s.count("accounts") > 0  # something was committed before the kill
    fake.hang_at = None
    fake.release.set()
    cli(db, *args[2:])
    same(db, clean)


def same(db: Path, clean: Path) -> None:
    """The same rows as a clean run (follow times are the sync's clock, so not compared)."""
    with Store.open(db) as a, Store.open(clean) as b:
        for table in TABLES:
            assert a.count(table) == b.count(table), table
        for sql in ("SELECT ext_key, like_count, caption FROM posts ORDER BY ext_key",
                    "SELECT ext_key, handle FROM accounts ORDER BY ext_key"):  # fmt: skip
            assert a._fetch(sql) == b._fetch(sql)


# ------------------------------------------------------------------ Jetstream
def _uri(net, name: str, n: int) -> str:
    return f"at://did:plc:{name}/app.bsky.feed.post/{net.accounts[f'did:plc:{name}'].posts[n].rkey}"


def test_jetstream_events_change_the_next_feed(tmp_path, fake, net):
    db = tmp_path / "b.db"
    sync(db, fake)
    engine = Engine.open(db)
    before = engine.interests("me.test", k=5)
    assert "food" not in [i.tag for i in before.items]
    t = int(time.time() * 1e6)
    like_rkey = tid(time.time() - 5)
    old_like = net.likes["did:plc:me"][0][1]  # the synced like of eve's post (newest)
    image = {"$type": "app.bsky.embed.images", "images": [{"alt": "a bowl", "image": {
        "$type": "blob", "ref": {"$link": "bafkreifresh"}, "mimeType": "image/jpeg", "size": 9}}]}  # fmt: skip
    messages = [
        commit("did:plc:me", t + 1, "create", "app.bsky.feed.like", like_rkey,
               {"subject": {"uri": _uri(net, "fay", 0), "cid": "x"}, "createdAt": "2024-01-01T00:00:00Z"}),
        commit("did:plc:me", t + 2, "create", "app.bsky.feed.like", tid(time.time() - 4),
               {"subject": {"uri": _uri(net, "bob", 0), "cid": "x"}, "createdAt": "2024-01-01T00:00:00Z"}),
        commit("did:plc:me", t + 3, "delete", "app.bsky.feed.like", old_like),
        commit("did:plc:ana", t + 4, "create", "app.bsky.feed.post", tid(time.time() - 3),
               {"text": "fresh #city bowl", "createdAt": iso(time.time() - 3), "embed": image}),
        commit("did:plc:dan", t + 5, "delete", "app.bsky.feed.post", net.accounts["did:plc:dan"].posts[2].rkey),
        commit("did:plc:me", t + 6, "create", "app.bsky.graph.follow", tid(time.time() - 2),
               {"subject": "did:plc:dan", "createdAt": "2024-01-01T00:00:00Z"}),
        commit("did:plc:stranger", t + 7, "create", "app.bsky.feed.like", tid(time.time() - 1),
               {"subject": {"uri": _uri(net, "fay", 0), "cid": "x"}, "createdAt": "2024-01-01T00:00:00Z"}),
    ]  # fmt: skip
    with FakeJetstream(messages, filter_dids=False) as js, Store.open(db) as store:
        summary = Consumer(store, js.url).run(max_events=len(messages), seconds=20)
        assert js.connections[0]["wantedDids"] == sorted(f"did:plc:{n}" for n in
            ["ana", "bob", "cam", "dan", "eve", "fay", "gus", "me"])  # fmt: skip
    assert summary.applied == {
        "like": 2,
        "like deleted": 1,
        "post": 1,
        "post deleted": 1,
        "follow": 1,
    }
    assert summary.dropped == {"account not in the store": 1}
    engine.refresh()
    after = engine.interests("me.test", k=5)
    assert after.items[0].tag == "food"  # two fresh #food likes outweigh one #mountains
    assert "fresh #city bowl" in [
        i.caption.split("\n")[0] for i in engine.timeline("me.test", k=40)
    ]
    with Store.open(db) as s:
        assert s.count("interactions") == 3 and s.count("follows") == 10
        assert s.ids_for_keys("posts", [f"bsky:{_uri(net, 'dan', 2)}"]) == {}


def test_jetstream_reconnects_and_resumes_from_its_cursor(tmp_path, fake, net):
    db = tmp_path / "b.db"
    sync(db, fake)
    t = int(time.time() * 1e6)
    messages = [
        commit("did:plc:me", t + n, "create", "app.bsky.feed.like", tid(time.time() - 10 + n),
               {"subject": {"uri": _uri(net, name, n % 3), "cid": "x"}, "createdAt": "2024-01-01T00:00:00Z"})
        for n, name in enumerate(["fay", "bob", "cam", "gus"])
    ]  # fmt: skip
    with FakeJetstream(messages, drop_after=2) as js, Store.open(db) as store:
        consumer = Consumer(store, js.url, batch=1)
        summary = consumer.run(max_events=5, seconds=10)
        assert len(js.connections) >= 2 and "cursor" not in js.connections[0]
        assert js.connections[1]["cursor"] == [str(t + 1)]  # the last applied event's time_us
    assert summary.applied["like"] == 4 and summary.applied["repeated"] == 1, summary
    with Store.open(db) as s:
        assert s.count("interactions") == 2 + 4
        assert s.get_sync("bsky:network", "jetstream_cursor") == str(t + 3)
