"""Record keys of what the Bluesky connector wrote (``sync_records``): the store methods on both
backends, Jetstream deletes of likes and follows read by ``sync``, a sync pruning what the
stream added, and an older store whose record keys still sit in JSON indexes.

The recorded network is fakes.bsky.known_network: me follows ana, bob and cam and likes one post
each of dan and eve; a sync at depth 2 stores 9 follows.
"""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("atproto", reason="the bluesky extra (atproto) is not installed")
pytest.importorskip("websockets", reason="the bluesky extra (websockets) is not installed")

from discovery.connectors.bluesky import Progress, SyncOptions, sync_bluesky
from discovery.connectors.bluesky_state import SOURCE, migrate_indexes
from discovery.connectors.jetstream import Consumer
from discovery.store import AccountRecord, PostRecord, Store
from discovery.store.records_sync import SyncRecord
from fakes.bsky import FakeAppView, FakeJetstream, commit, known_network, tid

LIKE, FOLLOW = "app.bsky.feed.like", "app.bsky.graph.follow"


@pytest.fixture
def net():
    return known_network(time.time())


@pytest.fixture
def fake(net):
    with FakeAppView(net) as server:
        yield server


def sync(db, fake, **kw):
    opts = SyncOptions(service=fake.url, pds=fake.url, app_password="app-pass-1234", backoff=0.05)
    with Store.open(db) as store:
        return sync_bluesky(store, "me.test", opts, Progress())


def stream(db, messages):
    with FakeJetstream(messages, filter_dids=False) as js, Store.open(db) as store:
        return Consumer(store, js.url).run(max_events=len(messages), seconds=20)


def ids(db, table, *keys):
    with Store.open(db) as s:
        found = s.ids_for_keys(table, keys)
    return [found[k] for k in keys]


def follows_of(db, src: int) -> set[int]:
    with Store.open(db) as s:
        return {int(d) for (d,) in s._fetch("SELECT dst FROM follows WHERE src = ?", (src,))}


# ------------------------------------------------------------------ the store
def test_sync_record_methods_on_both_backends(store_url):
    with Store.open(store_url) as s:
        with s.transaction():
            a = s.upsert_accounts([AccountRecord("t:a", "a"), AccountRecord("t:b", "b")])
            p = s.upsert_posts([PostRecord("t:p", a["t:b"], 10), PostRecord("t:q", a["t:b"], 20)])
        ana, bob, p1, p2 = a["t:a"], a["t:b"], p["t:p"], p["t:q"]
        like1, like2 = (
            SyncRecord("a/like/1", ana, "like", p1),
            SyncRecord("a/like/2", ana, "like", p2),
        )
        follow = SyncRecord("a/follow/1", ana, "follow", bob)
        with s.transaction():
            assert s.put_sync_records("x", [like1, like2, follow]) == 3
            assert s.put_sync_records("y", [like1]) == 1  # sources are apart
        counter = s.change_counter
        with s.transaction():  # the same rows again: nothing changes, the counter stays
            assert s.put_sync_records("x", [like1, follow]) == 0
        assert s.change_counter == counter
        assert s.sync_records("x", ["a/like/2", "a/follow/1", "a/none"]) == {
            "a/like/2": like2,
            "a/follow/1": follow,
        }
        assert s.sync_records_of("x", ana, "like") == [like1, like2]
        moved = SyncRecord("a/like/2", ana, "like", p1)  # a record now pointing elsewhere
        with s.transaction():
            assert s.put_sync_records("x", [moved]) == 1
            assert s.drop_sync_records("x", ["a/like/1", "a/none"]) == 1
            assert s.drop_sync_records_to("x", ana, "follow", [bob, p2]) == 1
        assert s.sync_records_of("x", ana, "like") == [moved]
        assert s.sync_records_of("x", ana, "follow") == []
        assert s.sync_records("y", ["a/like/1"]) == {"a/like/1": like1}
        with s.transaction():
            s.set_sync("t:a", "index:likes", "{}")
            s.set_sync("t:b", "index:likes", '{"u": 1}')
            s.set_sync("t:b", "other", "x")
        assert s.sync_values("index:likes") == {"t:a": "{}", "t:b": '{"u": 1}'}


def test_sync_record_writes_need_a_transaction(tmp_path):
    with Store.open(tmp_path / "s.db") as s, pytest.raises(Exception, match="transaction"):
        s.put_sync_records("x", [SyncRecord("r", 1, "like", 1)])


# ------------------------------------------------------- sync, stream, deletes
def test_a_follow_read_by_sync_is_removed_by_its_jetstream_delete(tmp_path, fake, net):
    db = tmp_path / "b.db"
    sync(db, fake)
    me, ana, bob, cam, dan = ids(
        db, "accounts", *(f"bsky:did:plc:{n}" for n in ["me", "ana", "bob", "cam", "dan"])
    )
    assert follows_of(db, me) == {ana, bob, cam}
    with Store.open(db) as s:  # the actor's follow records, read from its PDS
        assert {r.target for r in s.sync_records_of(SOURCE, me, "follow")} == {ana, bob, cam}
    t = int(time.time() * 1e6)
    summary = stream(db, [
        commit("did:plc:me", t + 1, "delete", FOLLOW, net.follow_rkey("did:plc:me", "did:plc:bob")),
        # ana's follows are read by getFollows only: their record keys are not known
        commit("did:plc:ana", t + 2, "delete", FOLLOW, net.follow_rkey("did:plc:ana", "did:plc:dan")),
    ])  # fmt: skip
    assert summary.applied == {"unfollow": 1}
    assert summary.dropped == {"delete of a follow this store never saw": 1}
    assert follows_of(db, me) == {ana, cam}
    assert dan in follows_of(db, ana)
    with Store.open(db) as s:
        assert {r.target for r in s.sync_records_of(SOURCE, me, "follow")} == {ana, cam}


def test_a_sync_prunes_what_the_stream_added_and_upstream_no_longer_has(tmp_path, fake, net):
    db = tmp_path / "b.db"
    sync(db, fake)
    me, dan = ids(db, "accounts", "bsky:did:plc:me", "bsky:did:plc:dan")
    fay_post = f"at://did:plc:fay/app.bsky.feed.post/{net.accounts['did:plc:fay'].posts[0].rkey}"
    t = int(time.time() * 1e6)
    like = {"subject": {"uri": fay_post, "cid": "x"}, "createdAt": "2024-01-01T00:00:00Z"}
    summary = stream(db, [
        commit("did:plc:me", t + 1, "create", LIKE, tid(time.time() - 5), like),
        commit("did:plc:me", t + 2, "create", FOLLOW, tid(time.time() - 4),
               {"subject": "did:plc:dan", "createdAt": "2024-01-01T00:00:00Z"}),
    ])  # fmt: skip
    assert summary.applied == {"like": 1, "follow": 1}
    with Store.open(db) as s:
        assert s.count("interactions") == 3 and dan in follows_of(db, me)
    # Upstream never listed them (undone while no stream ran): the next sync removes both.
    result = sync(db, fake)
    assert result.counts["likes"]["removed"] == 1 and result.counts["follows"]["removed"] == 1
    with Store.open(db) as s:
        assert s.count("interactions") == 2 and dan not in follows_of(db, me)
        assert len(s.sync_records_of(SOURCE, me, "like")) == 2  # the two synced likes
        assert {r.target for r in s.sync_records_of(SOURCE, me, "follow")} == set(
            ids(db, "accounts", "bsky:did:plc:ana", "bsky:did:plc:bob", "bsky:did:plc:cam")
        )


def test_an_older_store_with_json_indexes_still_honours_deletes(tmp_path, fake, net):
    """Before sync_records the keys sat in sync state: index:likes uri → [time, rkey] and
    index:follows DID → rkey. Such a store is built here from a synced one."""
    db = tmp_path / "b.db"
    sync(db, fake)
    me, dan = ids(db, "accounts", "bsky:did:plc:me", "bsky:did:plc:dan")
    (old_uri, old_rkey), (other_uri, other_rkey) = net.likes["did:plc:me"]
    follow_rkey = tid(time.time() - 100, 3)
    with Store.open(db) as s, s.transaction():
        s._exec("DELETE FROM sync_records")
        s.add_follows([(me, dan, 0)])  # a follow the old stream applied
        likes = {old_uri: [100, old_rkey], other_uri: [90, other_rkey]}
        s.set_sync("bsky:did:plc:me", "index:likes", json.dumps(likes))
        follows = {
            "did:plc:ana": "",
            "did:plc:bob": "",
            "did:plc:cam": "",
            "did:plc:dan": follow_rkey,
        }
        s.set_sync("bsky:did:plc:me", "index:follows", json.dumps(follows))
    t = int(time.time() * 1e6)
    summary = stream(db, [
        commit("did:plc:me", t + 1, "delete", LIKE, old_rkey),
        commit("did:plc:me", t + 2, "delete", FOLLOW, follow_rkey),
    ])  # fmt: skip
    assert summary.applied == {"like deleted": 1, "unfollow": 1}
    with Store.open(db) as s:
        assert s.count("interactions") == 1 and dan not in follows_of(db, me)
        # moved once: the indexes lost their record keys, so nothing is left to migrate
        assert json.loads(s.get_sync("bsky:did:plc:me", "index:likes")) == {
            old_uri: 100,
            other_uri: 90,
        }
        assert set(json.loads(s.get_sync("bsky:did:plc:me", "index:follows")).values()) == {""}
        counter = s.change_counter
        assert migrate_indexes(s) == 0 and s.change_counter == counter
