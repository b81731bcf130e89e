"""`discovery import instagram`: exports built by the tests (tests/instagram_exports.py) in
both shapes, as a .zip with macOS junk and as a folder; hostile values; re-imports; a feed."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_run import run_cli as run
from discovery import Engine
from discovery.errors import InputError
from discovery.sources.instagram import import_instagram, read_instagram
from discovery.sources.instagram_files import route
from discovery.store import Store
from discovery.store.records import AccountRecord, PostRecord
from instagram_exports import JPEG, T0, Export, moji, write_folder, write_zip

ME = "ana_photos"


def query(store: Store, sql: str) -> list[tuple]:
    return sorted((tuple(r) for r in store._fetch(sql)), key=repr)


def content(store: Store) -> dict[str, list[tuple]]:
    """The store by external keys (ids depend on the order rows arrived in)."""
    return {
        "accounts": query(store, "SELECT ext_key, handle, display_name FROM accounts"),
        "follows": query(
            store,
            "SELECT s.ext_key, d.ext_key, f.created_at FROM follows f"
            " JOIN accounts s ON s.id = f.src JOIN accounts d ON d.id = f.dst",
        ),
        "posts": query(
            store,
            "SELECT p.ext_key, a.ext_key, p.taken_at, p.media_type, p.image FROM posts p"
            " LEFT JOIN accounts a ON a.id = p.author",
        ),
        "interactions": query(
            store,
            "SELECT a.ext_key, p.ext_key, i.kind, i.created_at FROM interactions i"
            " JOIN accounts a ON a.id = i.account JOIN posts p ON p.id = i.post",
        ),
        "tags": query(
            store,
            "SELECT p.ext_key, h.tag FROM post_hashtags t JOIN hashtags h ON h.id = t.hashtag"
            " JOIN posts p ON p.id = t.post",
        ),
    }


LIKE, COMMENT, SAVE, VIEW, TAG = 0, 1, 2, 5, 8  # interaction kind codes
# What the default Export holds, by hand (the two shapes agree on all but the captions of
# liked posts, which only the 2025 shape carries).
ACCOUNTS = [
    ("ig:ana_photos", "ana_photos", "Ana Émile"),
    ("ig:bob", "bob", ""),
    ("ig:cleo", "cleo", ""),  # the old shape has no owner names
    ("ig:eve", "eve", ""),
    ("ig:frank", "frank", ""),
    ("ig:gina", "gina", ""),
    ("ig:hank", "hank", ""),  # author of a liked comment
]
FOLLOWS = [
    ("ig:ana_photos", "ig:bob", T0 + 100),
    ("ig:ana_photos", "ig:cleo", T0 + 200),
    ("ig:bob", "ig:ana_photos", T0 + 150),
    ("ig:eve", "ig:ana_photos", T0 + 400),
]
INTERACTIONS = [
    ("ig:ana_photos", "ig:#analogphotography", TAG, T0 + 5000),  # dated at the newest time
    ("ig:ana_photos", "ig:@cleo", COMMENT, T0 + 1200),  # the comment names only its owner
    ("ig:ana_photos", "ig:AAA111", LIKE, T0 + 1000),
    ("ig:ana_photos", "ig:AAA111", VIEW, T0 + 1100),
    ("ig:ana_photos", "ig:BBB222", LIKE, T0 + 2000),
    ("ig:ana_photos", "ig:BBB222", SAVE, T0 + 2500),
    ("ig:ana_photos", "ig:CCC333", LIKE, T0 + 3000),
    ("ig:ana_photos", "ig:DDD444", SAVE, T0 + 2600),
]
OWN = "ig:ana_photos/1735694600/media/posts/202501/ride.jpg"


def imported(tmp_path: Path, export: Path, name: str = "x.db") -> Store:
    store = Store.open(tmp_path / name)
    import_instagram(store, export)
    return store


def test_routing_by_name_pattern() -> None:
    assert route("instagram-x-2025-01-01-a/connections/followers_and_following/following.json")
    assert route("following_hashtags.json") == "hashtags"
    assert route("your_instagram_activity/content/posts_12.json") == "posts"
    assert route("followers_and_following/recently_unfollowed_accounts.json") == "unfollowed"
    assert route("ads_information/ads_and_topics/posts_viewed.json") is None
    assert route("messages/inbox/bob_1/message_1.json") is None


@pytest.mark.parametrize("shape", ["old", "new"])
def test_both_shapes_import_the_same_network(tmp_path: Path, shape: str) -> None:
    tree = Export().tree(shape)
    path = (
        write_zip(tmp_path / "e.zip", tree)
        if shape == "old"
        else write_folder(tmp_path / "e", tree)
    )
    store = imported(tmp_path, path)
    got = content(store)
    accounts = ACCOUNTS if shape == "old" else [
        (k, h, {"cleo": "Cléo", "frank": "Frank"}.get(h, d)) for k, h, d in ACCOUNTS
    ]  # fmt: skip
    assert got["accounts"] == accounts
    assert got["follows"] == FOLLOWS  # zed (unfollowed, never followed here) changes nothing
    assert got["interactions"] == INTERACTIONS
    image = got["posts"][-1][4]
    assert got["posts"] == [
        ("ig:#analogphotography", None, 0, 0, None),  # the followed hashtag's marker
        ("ig:@cleo", "ig:cleo", 0, 0, None),  # the marker your comment to cleo is on
        ("ig:AAA111", "ig:cleo", T0 + 1000, 0, None),
        ("ig:BBB222", "ig:frank", T0 + 2000, 1, None),  # a reel; liked before it was saved
        ("ig:CCC333", "ig:cleo", T0 + 3000, 0, None),
        ("ig:DDD444", "ig:gina", T0 + 2600, 0, None),
        (OWN, "ig:ana_photos", T0 + 5000, 0, image),
    ]
    assert image.startswith("ig/") and image.endswith(".jpg")
    assert (Path(str(store.path) + ".media") / image).read_bytes() == JPEG
    own_tags = [("ig:#analogphotography", "analogphotography"), (OWN, "mtb"), (OWN, "pdx")]
    captions = [("ig:AAA111", "pdx"), ("ig:AAA111", "sunset"), ("ig:BBB222", "mtb"),
                ("ig:CCC333", "coffee")]  # fmt: skip
    assert got["tags"] == sorted(own_tags + ([] if shape == "old" else captions), key=repr)
    assert store.user_settings(store.account_id(ME)) == {"blocked": ["spam_bot"]}
    assert store.get_sync("instagram", f"{ME}/latest") == str(T0 + 5000)


def test_mojibake_is_repaired(tmp_path: Path) -> None:
    store = imported(tmp_path, write_folder(tmp_path / "e", Export().tree("new")))
    info = store.post_info([store.ids_for_keys("posts", ["ig:CCC333"])["ig:CCC333"]])
    assert [p.caption for p in info.values()] == ["Café ☕ #coffee"]
    assert store.account_info([store.account_id(ME)])[1].display_name == "Ana Émile"
    assert moji("é") == "Ã©"  # what the file held


def test_the_username_comes_from_the_archive_name_or_the_option(tmp_path: Path) -> None:
    tree = Export(username=None).tree("new")
    store = imported(tmp_path, write_zip(tmp_path / "e.zip", tree))  # instagram-ana_photos-…
    assert store.account_id(ME) == 1
    with pytest.raises(InputError, match="cannot tell whose export this is"):
        import_instagram(store, write_zip(tmp_path / "f.zip", tree, root="export"))
    import_instagram(store, write_zip(tmp_path / "f.zip", tree, root="export"), username=ME)


def test_hostile_values_are_skipped_and_counted(tmp_path: Path) -> None:
    huge = "#big " + "x" * 10_000_000
    export = Export(
        following=[("bob", T0 + 100), ("a\u202egnp.exe", T0 + 110), ("", T0 + 120)],
        liked=[
            ("p/AAA111", "cleo", "Cléo", T0 + 1000, "fine #ok"),
            ("p/HUGE01", "cleo", "Cléo", T0 + 1001, huge),
        ],
        posts=[
            ("media/posts/202501/ride.jpg", T0 + 5000, "ok"),
            ("media/posts/999912/later.jpg", 253_402_300_000, "year 9999"),
        ],
        extra={"your_instagram_activity/saved/saved_posts.json": {"saved_saved_media": [{}]}},
    )
    tree = export.tree("new")
    tree["your_instagram_activity/likes/liked_comments.json"] = b"{not json"
    summary = import_instagram(
        store := Store.open(tmp_path / "x.db"), write_folder(tmp_path / "e", tree)
    )
    assert summary.skipped == {
        "following → follows": 2,
        "liked posts → likes": 1,
        "your posts → posts": 1,
        "saved posts → saves": 1,
    }
    notes = "\n".join(summary.notes)
    following = "connections/followers_and_following/following.json"
    assert (
        f"skipped {following}: entry 2: username: 'a\\u202egnp.exe' contains a control or"
        " format character (U+202E)" in notes
    )
    assert (
        "likes/liked_posts.json: entry 2: caption: 10,000,005 characters, at most 20,000" in notes
    )
    assert "posts_1.json: entry 2: timestamp: 253402300000 is after" in notes
    assert "saved_posts.json: entry 1: no post URL" in notes
    assert "skipped your_instagram_activity/likes/liked_comments.json: not JSON" in notes
    assert store.count("posts") == 4  # AAA111, the hashtag's and cleo's markers, the 2025 post
    assert content(store)["follows"][0] == ("ig:ana_photos", "ig:bob", T0 + 100)


def test_reimport_is_idempotent_and_a_newer_export_adds_and_removes(tmp_path: Path) -> None:
    first = write_zip(tmp_path / "a.zip", Export().tree("old"))
    store = imported(tmp_path, first)
    before, counter = content(store), store.change_counter
    import_instagram(store, first)
    assert (content(store), store.change_counter) == (before, counter)
    import_instagram(store, write_folder(tmp_path / "same", Export().tree("new")))
    assert content(store)["follows"] == before["follows"]  # the other shape, same network

    newer = Export(
        following=[("bob", T0 + 100), ("dan", T0 + 9000), ("eve", T0 + 9050)],
        unfollowed=[("cleo", T0 + 9100), ("eve", T0 + 9010)],  # eve: followed again after
        liked=[*Export().liked, ("p/EEE555", "dan", "Dan", T0 + 9200, "#film")],
    )
    path = write_zip(tmp_path / "b.zip", newer.tree("new"))
    summary = import_instagram(store, path)
    assert store.change_counter == counter + 2  # the other shape added the captions' tags
    got = content(store)
    assert [(s, d) for s, d, _ in got["follows"]] == [
        ("ig:ana_photos", "ig:bob"), ("ig:ana_photos", "ig:dan"), ("ig:ana_photos", "ig:eve"),
        ("ig:bob", "ig:ana_photos"), ("ig:eve", "ig:ana_photos"),
    ]  # fmt: skip
    assert ("ig:ana_photos", "ig:EEE555", LIKE, T0 + 9200) in got["interactions"]
    assert ("recently unfollowed → follows removed", 2, 1) in summary.rows  # cleo, not eve
    again = store.change_counter
    import_instagram(store, path)
    assert store.change_counter == again


def test_cli_dry_run_then_import(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db, export = tmp_path / "x.db", write_zip(tmp_path / "e.zip", Export().tree("new"))
    code, out, err = run(capsys, "--db", str(db), "import", "instagram", str(export), "--dry-run")
    assert (code, err) == (0, "")
    assert "liked posts → likes" in out and "dry run: nothing was written" in out
    assert not db.exists() and not Path(str(db) + ".media").exists()
    code, out, _ = run(capsys, "--db", str(db), "import", "instagram", str(export))
    assert code == 0 and "followed hashtags → interests" in out
    with Store.open(db, create=False) as s:
        counter = s.change_counter
    code, out, _ = run(capsys, "--db", str(db), "import", "instagram", str(export), "--dry-run")
    assert code == 0
    with Store.open(db, create=False) as s:
        assert s.change_counter == counter


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    code, _, err = run(capsys, "--db", db, "import", "instagram", str(tmp_path / "nope.zip"))
    assert (code, err) == (1, f"error: {tmp_path / 'nope.zip'}: no such file or folder"
                              " (expected an Instagram export)\n")  # fmt: skip
    (tmp_path / "bad.zip").write_bytes(b"PK not really")
    code, _, err = run(capsys, "--db", db, "import", "instagram", str(tmp_path / "bad.zip"))
    assert code == 1 and err.startswith(f"error: {tmp_path / 'bad.zip'}: not a .zip file")
    html = write_folder(tmp_path / "html", {"index.html": b"<html>"})
    code, _, err = run(capsys, "--db", db, "import", "instagram", str(html))
    assert err == f"error: {html}: no Instagram export JSON files found (this is the HTML" \
        " export: request the JSON format)\n"  # fmt: skip


def test_a_feed_from_the_export_alone_and_with_a_network(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    imported(tmp_path, write_folder(tmp_path / "e", Export().tree("new"))).close()
    with Store.open(db) as s:  # replay the export at its own time (a live store: wall clock)
        assert s.clock() == "wall"
        newest = max(t for (t,) in s._fetch("SELECT taken_at FROM posts"))
        s.set_clock("fixed", at=newest)
    engine = Engine.open(db, cache=False)
    ctx = engine.context(ME)
    handles = engine.snapshot.handle
    assert sorted(str(handles[i]) for i in ctx.following) == ["bob", "cleo"]
    assert len(engine.timeline(ME)) == 0  # an export holds no posts of the accounts you follow
    assert len(engine.explore(ME)) == 0  # nor anyone's follows: the walk stops at bob and cleo
    # Every post in the catalogue is one you engaged with, so only what stands out against it
    # is an interest: the followed hashtag (weight 2 on a tag no other post carries).
    assert [i.tag for i in engine.interests(ME)] == ["analogphotography"]
    assert engine.feed("eve", kind="timeline")[0].caption == "Morning ride #mtb #pdx"
    engine.store.close()

    # A network connector brings posts (here written directly, as one would): bob's new post,
    # a stranger's follows, frank's new #mtb post, and a catalogue of unrelated posts.
    with Store.open(db) as store, store.transaction():
        ids = store.upsert_accounts([AccountRecord(f"net:{h}", h) for h in ("ivy", "x1")])
        bob, frank = store.account_id("bob"), store.account_id("frank")
        store.add_follows([(bob, ids["net:ivy"], T0 + 6000)])
        t = T0 + 8000
        store.upsert_posts(
            [
                PostRecord("net:b1", bob, t, "new from bob #street"),
                PostRecord("net:i1", ids["net:ivy"], t, "ivy #street"),
                PostRecord("net:f1", frank, t, "frank again #mtb"),
                *(PostRecord(f"net:x{n}", ids["net:x1"], t - n, "#filler") for n in range(20)),
            ]
        )
    with Store.open(db) as store:
        store.set_clock("fixed", at=t)  # the replay's clock moves on with the new posts
    engine = Engine.open(db, cache=False)
    assert [i.caption for i in engine.timeline(ME)] == ["new from bob #street"]
    explore = {i.caption: i.sources for i in engine.explore(ME, k=30)}
    assert "ppr_authors" in explore["ivy #street"]  # bob follows ivy: your network's reach
    assert "hashtags" in explore["frank again #mtb"]  # liked tags bring the liked author back
    assert "new from bob #street" not in explore  # followed: the timeline's
    tags = {i.tag for i in engine.interests(ME)}
    assert tags == {"analogphotography", "coffee", "mtb", "pdx", "sunset"}
    assert "frank again #mtb" in [i.caption for i in engine.feed(ME, kind="interests")]
    engine.store.close()


def test_read_only_parse(tmp_path: Path) -> None:
    export = read_instagram(write_folder(tmp_path / "e", Export().tree("old")))
    assert export.username == ME and export.files["following"] == 1
    assert [r.name for r in export.following] == ["bob", "cleo"]
    assert [(p.key, p.owner, p.caption) for p in export.liked_posts][1] == (
        "ig:BBB222",
        "frank",
        "",
    )


def test_a_symlink_in_an_export_folder_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    export = Export(posts=[("media/posts/202501/link.jpg", T0 + 5000, "a link")])
    tree = export.tree("new")
    del tree["media/posts/202501/link.jpg"]
    root = write_folder(tmp_path / "e", tree)
    (root / "media/posts/202501").mkdir(parents=True)
    (root / "media/posts/202501/link.jpg").symlink_to(secret)
    store = Store.open(tmp_path / "x.db")
    summary = import_instagram(store, root)
    assert "your media: 1 missing" in summary.notes
    assert content(store)["posts"][-1][-1] is None  # the post, without an image
    assert not Path(str(store.path) + ".media").exists()


@pytest.mark.parametrize("shape", ["old", "new"])
def test_your_comments_become_comments_and_weigh_the_owner(tmp_path: Path, shape: str) -> None:
    """Both files of your comments: ``post_comments_N.json`` (a bare array) and
    ``reels_comments.json`` (``comments_reels_comments``); entries name the post's owner only,
    unless ``media_list_data[].uri`` holds the post's URL."""

    def entry(owner: str, text: str, t: int, uri: str = "") -> dict[str, object]:
        return {
            "media_list_data": [{"uri": uri}],
            "string_map_data": {"Comment": {"value": moji(text)},
                                "Media Owner": {"value": owner}, "Time": {"timestamp": t}},
        }  # fmt: skip

    folder = "comments/" if shape == "old" else "your_instagram_activity/comments/"
    reels = [entry("frank", "Sick line 🚵", T0 + 1400),
             entry("cleo", "This one!", T0 + 1500, "https://www.instagram.com/p/AAA111/")]  # fmt: skip
    export = Export(
        comments=[("cleo", "Wow 😍", T0 + 1200), ("cleo", "Again", T0 + 1300)],
        extra={f"{folder}reels_comments.json": {"comments_reels_comments": reels}},
    )
    store = imported(tmp_path, write_folder(tmp_path / "e", export.tree(shape)))
    got = content(store)
    comments = [i for i in got["interactions"] if i[2] == COMMENT]
    assert comments == [
        ("ig:ana_photos", "ig:@cleo", COMMENT, T0 + 1200),
        ("ig:ana_photos", "ig:@cleo", COMMENT, T0 + 1300),
        ("ig:ana_photos", "ig:@frank", COMMENT, T0 + 1400),
        ("ig:ana_photos", "ig:AAA111", COMMENT, T0 + 1500),  # the entry that names its post
    ]
    assert [p for p in got["posts"] if p[0].startswith("ig:@")] == [
        ("ig:@cleo", "ig:cleo", 0, 0, None),
        ("ig:@frank", "ig:frank", 0, 0, None),
    ]
    counter = store.change_counter
    summary = import_instagram(store, write_folder(tmp_path / "e", export.tree(shape)))
    assert store.change_counter == counter and ("your comments → comments", 4, 0) in summary.rows
    store.close()

    # The tutorial's weighted graph: ana → cleo weighs 1 + likes (AAA111, CCC333: 2) + comments
    # (three: 2 each) = 9; ana follows no one else she engaged with but bob (nothing: 1).
    from discovery.ranking.affinity import follow_adjacency

    engine = Engine.open(tmp_path / "x.db", cache=False)
    snap = engine.snapshot
    ana, bob, cleo = (snap.account_index(h) for h in (ME, "bob", "cleo"))
    weights = follow_adjacency(snap, weighted=True)
    assert weights[ana, cleo] == 9.0 and weights[ana, bob] == 1.0
    engine.store.close()
