"""Edited posts: a re-sync, a live update or a re-import of a post whose caption changed takes
the new caption and its hashtags (``Store.upsert_posts``), on both backends and through the
Bluesky stream and the Mastodon sync."""

from __future__ import annotations

import time

import pytest

from discovery.snapshot import load_snapshot
from discovery.store import AccountRecord, PostRecord, Store, StoreError


def tags_of(store: Store, post: int) -> dict[str, str]:
    """``tag → as written`` of one post's hashtag links."""
    rows = store._fetch(
        "SELECT h.tag, t.original FROM post_hashtags t JOIN hashtags h ON h.id = t.hashtag"
        " WHERE t.post = ?",
        (post,),
    )
    return {str(t): str(o) for t, o in rows}


def test_an_edited_caption_replaces_the_caption_and_its_hashtags(store_url):
    with Store.open(store_url) as s:
        with s.transaction():
            a = s.upsert_accounts([AccountRecord("t:a", "a")])["t:a"]
            pid = s.upsert_posts([PostRecord("t:p", a, 100, "Sunset #Beach #sea")])["t:p"]
            s.add_post_tags([(pid, "film")])  # a tag the source gave beside the caption
        assert tags_of(s, pid) == {"beach": "Beach", "sea": "sea", "film": "film"}
        before = s.change_counter
        edited = PostRecord("t:p", a, 100, "Sunrise #sea #Mountains", like_count=3)
        with s.transaction():
            assert s.upsert_posts([edited]) == {"t:p": pid}
        assert s.post_info([pid])[pid].caption == "Sunrise #sea #Mountains"
        # beach left with the old caption; sea stays; film was never the caption's
        assert tags_of(s, pid) == {"sea": "sea", "mountains": "Mountains", "film": "film"}
        ch = s.changes_since(before)  # re-stamped: a snapshot catches up on the post
        assert ch.posts["id"].tolist() == [pid] and ch.posts["likes"].tolist() == [3]
        mountains = dict((t, i) for i, t in ch.hashtags)["mountains"]
        assert ch.post_hashtags.tolist() == [(pid, mountains)]  # only the new link is news
        counter = s.change_counter
        with s.transaction():  # the same edit again changes nothing
            s.upsert_posts([edited])
        assert s.change_counter == counter
        snap = load_snapshot(s, cache=False)
        row = snap.posts.lookup([pid])[0]
        names = {str(snap.tag_name[t]) for t in snap.tag_id[snap.tag_post == row]}
        assert names == {"sea", "mountains", "film"}


def test_a_bad_edit_leaves_the_database_as_it_was(store_url):
    with Store.open(store_url) as s:
        with s.transaction():
            a = s.upsert_accounts([AccountRecord("t:a", "a")])["t:a"]
            pid = s.upsert_posts([PostRecord("t:p", a, 100, "first #one")])["t:p"]
        counter = s.change_counter
        with pytest.raises(StoreError, match="caption"), s.transaction():
            s.upsert_posts(
                [PostRecord("t:p", a, 100, "second #two"), PostRecord("t:q", a, 100, "bad\x00")]
            )
        assert s.change_counter == counter
        assert s.post_info([pid])[pid].caption == "first #one"
        assert tags_of(s, pid) == {"one": "one"}


def test_a_live_bluesky_update_edits_the_post(tmp_path):
    pytest.importorskip("atproto", reason="the bluesky extra (atproto) is not installed")
    pytest.importorskip("websockets", reason="the bluesky extra (websockets) is not installed")
    from discovery.connectors.bluesky import Progress, SyncOptions, sync_bluesky
    from discovery.connectors.jetstream import Consumer
    from fakes.bsky import FakeAppView, FakeJetstream, commit, iso, known_network

    net = known_network(time.time())
    db = tmp_path / "b.db"
    with FakeAppView(net) as fake, Store.open(db) as store:
        sync_bluesky(store, "me.test", SyncOptions(service=fake.url, pds=fake.url), Progress())
    post = net.accounts["did:plc:ana"].posts[0]  # "ana shot 0 #city"
    key = f"bsky:at://did:plc:ana/app.bsky.feed.post/{post.rkey}"
    image = {"$type": "app.bsky.embed.images", "images": [{"alt": "a bowl", "image": {
        "$type": "blob", "ref": {"$link": "bafkreiedit"}, "mimeType": "image/jpeg", "size": 9}}]}  # fmt: skip
    record = {"text": "ana shot 0, edited #food", "createdAt": iso(post.created), "embed": image}
    update = commit("did:plc:ana", int(time.time() * 1e6), "update", "app.bsky.feed.post",
                    post.rkey, record)  # fmt: skip
    with FakeJetstream([update]) as js, Store.open(db) as store:
        assert Consumer(store, js.url).run(max_events=1, seconds=20).applied == {"post": 1}
    with Store.open(db) as s:
        pid = s.ids_for_keys("posts", [key])[key]
        assert s.post_info([pid])[pid].caption.startswith("ana shot 0, edited #food")
        assert set(tags_of(s, pid)) == {"food"}


def test_a_mastodon_resync_takes_an_edited_status(tmp_path):
    pytest.importorskip("mastodon", reason="Mastodon.py (the mastodon extra) is not installed")
    from discovery.connectors.mastodon import MastodonOptions, sync_mastodon
    from fakes.mastodon import FakeMastodon, html, photo_network

    inst = photo_network(time.time())
    bo = next(a for a in inst.accounts.values() if a.username == "bo")
    status = bo.statuses[0]  # "Sunset over the bay" #sunset, 2 h old
    db = tmp_path / "m.db"
    with FakeMastodon(inst) as fake:
        opts = MastodonOptions("ana@photos.example", api_base=fake.url, token="ana-token")
        with Store.open(db) as store:
            sync_mastodon(store, opts)
        status.html, status.tags = (
            html("Sunset over the harbour", ("harbour",), inst.domain),
            ("harbour",),
        )
        with Store.open(db) as store:
            sync_mastodon(store, opts)
    with Store.open(db) as s:
        found = [p for p in s.post_info(list(range(1, 200))).values() if "harbour" in p.caption]
        assert len(found) == 1 and found[0].caption.startswith("Sunset over the harbour")
        assert set(tags_of(s, found[0].id)) == {"harbour"}


def test_a_running_snapshot_drops_the_hashtags_an_edit_took_off(store_url, tmp_path):
    """Incremental catch-up (tombstones in removed_post_hashtags) equals a full reload."""
    from discovery.snapshot import refresh_snapshot

    with Store.open(store_url) as s:
        with s.transaction():
            a = s.upsert_accounts([AccountRecord("t:a", "a")])["t:a"]
            pid = s.upsert_posts([PostRecord("t:p", a, 100, "Sunset #Beach #sea")])["t:p"]
            other = s.upsert_posts([PostRecord("t:q", a, 90, "More #beach")])["t:q"]
        running = load_snapshot(s, cache=False)
        with s.transaction():
            s.upsert_posts([PostRecord("t:p", a, 100, "Sunrise #sea #Mountains")])
        refresh_snapshot(s, running)
        fresh = load_snapshot(s, cache=False)

        def links(snap):
            return sorted(
                (int(snap.post_id[p]), str(snap.tag_name[t]))
                for p, t in zip(snap.tag_post, snap.tag_id, strict=True)
            )

        assert links(running) == links(fresh) == [
            (pid, "mountains"), (pid, "sea"), (other, "beach"),
        ]  # fmt: skip
