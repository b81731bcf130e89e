"""The store contract, run on both backends (SQLite file, PostgreSQL server): round-trips,
idempotence, all-or-nothing transactions, consistent readers; then SQLite's WAL specifics."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discovery.store import (
    KIND_CODE,
    SCHEMA_VERSION,
    AccountRecord,
    NotFound,
    PostRecord,
    Store,
    StoreError,
    extract_hashtags,
)
from stores import dump, rows

ACCOUNTS = [
    (1, "ana", "Ana", "person", 100),
    (2, "bo", "Bo B.", "brand", 200),
    (3, "cy", "", 0, 300),
]
FOLLOWS = [(1, 2, 1000), (2, 1, 1001), (3, 2, 1002)]
POSTS = [
    (10, 2, 5000, "Sunset ride #MTB #Sunsets 🌅 #mtb", "photo", "img/10.jpg", 2, 1),
    (11, 1, 6000, "", "video", None, 0, 0),
    (12, None, 7000, "no author #🌅", 2, "https://example.org/y.png", 0, 0),
]
INTERACTIONS = [
    (1, 10, "like", 8000, None),
    (3, 10, "like", 8100, None),
    (1, 10, "comment", 8200, None),
    (3, 12, "view", 9000, 12.5),
]


def load(store: Store) -> tuple[int, ...]:
    """Write the small world above in one transaction; return the add_* counts."""
    with store.transaction():
        return (
            store.add_accounts(ACCOUNTS),
            store.add_follows(FOLLOWS),
            store.add_posts(POSTS),
            store.add_post_tags([(11, "#Hiking"), (11, "hiking"), (12, "Sunsets")]),
            store.add_interactions(INTERACTIONS),
        )


@pytest.fixture
def store(store_url: str):
    s = Store.open(store_url)
    yield s
    s.close()


# ------------------------------------------------------------------ round trips
def test_every_entity_round_trips(store: Store) -> None:
    assert load(store) == (3, 3, 3, 2, 4)
    seq = store.change_counter
    assert seq == 1
    assert rows(store, "SELECT * FROM accounts ORDER BY id") == [
        (1, "ana", "Ana", 0, 100, seq, "id:1"),
        (2, "bo", "Bo B.", 1, 200, seq, "id:2"),
        (3, "cy", "", 0, 300, seq, "id:3"),
    ]
    assert rows(store, "SELECT * FROM follows ORDER BY src, dst") == [
        (1, 2, 1000, seq),
        (2, 1, 1001, seq),
        (3, 2, 1002, seq),
    ]
    assert rows(store, "SELECT * FROM posts ORDER BY id") == [
        (10, 2, 5000, "Sunset ride #MTB #Sunsets 🌅 #mtb", 0, "img/10.jpg", 2, 1, seq, "id:10"),
        (11, 1, 6000, "", 1, None, 0, 0, seq, "id:11"),
        (12, None, 7000, "no author #🌅", 2, "https://example.org/y.png", 0, 0, seq, "id:12"),
    ]
    tags = rows(
        store,
        "SELECT p.post, h.tag, p.original FROM post_hashtags p JOIN hashtags h ON h.id = p.hashtag",
    )
    assert sorted(tags) == [
        (10, "mtb", "MTB"),  # '#mtb' repeats '#MTB': first spelling kept
        (10, "sunsets", "Sunsets"),  # the bare emoji is not a hashtag
        (11, "hiking", "#Hiking"),  # imported tag, spelled as given
        (12, "sunsets", "Sunsets"),
        (12, "🌅", "🌅"),
    ]
    assert store.count("hashtags") == 4
    like, comment, view = KIND_CODE["like"], KIND_CODE["comment"], KIND_CODE["view"]
    assert rows(
        store, "SELECT account, post, kind, created_at, value FROM interactions ORDER BY created_at"
    ) == [
        (1, 10, like, 8000, None),
        (3, 10, like, 8100, None),
        (1, 10, comment, 8200, None),
        (3, 12, view, 9000, 12.5),
    ]
    assert store.account_id("@ana") == 1
    assert store.account_details([2, 99]) == {
        2: {"handle": "bo", "display_name": "Bo B.", "kind": "brand", "created_at": 200}
    }
    assert store.post_details([12])[12] == {
        "caption": "no author #🌅",
        "image": "https://example.org/y.png",
        "media_type": "carousel",
    }
    with pytest.raises(NotFound, match="'nobody'"):
        store.account_id("nobody")


def test_meta_round_trips_text_and_json(store: Store) -> None:
    with store.transaction():
        store.set_meta("now", 9000)
        store.set_meta("dataset", "lastfm-2k")
        store.set_meta("params", {"a": [1, 2]})
    assert store.get_meta("now") == "9000"
    assert store.get_meta("dataset") == "lastfm-2k"
    assert store.get_meta("params") == '{"a": [1, 2]}'
    assert store.get_meta("missing", "x") == "x"
    assert store.meta()["schema_version"] == str(SCHEMA_VERSION)


def test_survives_close_and_reopen(store_url: str) -> None:
    with Store.open(store_url) as s:
        load(s)
        before = dump(s)
    with Store.open(store_url, create=False) as s:
        assert dump(s) == before


def test_remove_follows_leaves_a_tombstone(store: Store) -> None:
    load(store)
    with store.transaction() as seq:
        assert store.remove_follows([(1, 2), (2, 3)]) == 1  # (2, 3) never existed
    assert seq == 2
    assert rows(store, "SELECT src, dst FROM follows ORDER BY src") == [(2, 1), (3, 2)]
    assert rows(store, "SELECT * FROM removed_follows") == [(2, 1, 2)]


def test_unknown_codes_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown interaction kind 'lik'"), store.transaction():
        store.add_interactions([(1, 10, "lik", 0, None)])
    with pytest.raises(StoreError, match="unknown media type code 7"), store.transaction():
        store.add_posts([(1, 1, 0, "", 7, None, 0, 0)])


# ------------------------------------------------------------------ idempotence
def test_importing_twice_changes_nothing(store: Store) -> None:
    load(store)
    before, counter = dump(store), store.change_counter
    assert load(store) == (0, 0, 0, 0, 0)
    assert dump(store) == before
    assert store.change_counter == counter == 1


def test_importing_twice_from_a_fresh_process_changes_nothing(store_url: str) -> None:
    # A new Store has a cold hashtag-id cache: it must find the existing ids, not make new ones.
    with Store.open(store_url) as s:
        load(s)
        before = dump(s)
    with Store.open(store_url) as s:
        assert load(s) == (0, 0, 0, 0, 0)
        assert dump(s) == before


def test_live_counts_increment_once(store: Store) -> None:
    load(store)
    events = [(2, 10, "like", 9500, None), (2, 10, "comment", 9501, None)]
    for _ in range(2):
        with store.transaction():
            store.add_interactions(events, update_counts=True)
    assert rows(store, "SELECT like_count, comment_count, seq FROM posts WHERE id = 10") == [
        (3, 2, 2)
    ]
    assert store.change_counter == 2


def test_an_existing_post_keeps_its_hashtags(store: Store) -> None:
    load(store)
    before = dump(store)
    with store.transaction():
        # Same id, different caption: the stored post wins, hashtags included.
        assert store.add_posts([(10, 2, 5000, "#other #tags", "photo", None, 0, 0)]) == 0
    assert dump(store) == before
    with store.transaction():
        # Within one batch the first row of an id wins, hashtags included.
        batch = [(20, 1, 1, "#first", 0, None, 0, 0), (20, 1, 1, "#second", 0, None, 0, 0)]
        assert store.add_posts(batch) == 1
    assert rows(
        store,
        "SELECT h.tag FROM post_hashtags p JOIN hashtags h ON h.id = p.hashtag WHERE post = 20",
    ) == [("first",)]


def test_a_taken_handle_is_an_error_not_a_silent_drop(store: Store) -> None:
    load(store)
    before = dump(store)
    with (
        pytest.raises(StoreError, match="account 7: handle 'ana' or key 'id:7' is already taken"),
        store.transaction(),
    ):
        store.add_accounts([(6, "six", "", 0, 0), (7, "ana", "", 0, 0)])
    assert dump(store) == before


_tag = st.sampled_from(["#MTB", "#mtb", "#Sunsets", "#🌅", "#café", "#ＭＴＢ", "#a_b"])
_caption = st.lists(_tag | st.sampled_from(["word", "🌅", "x.", "#"]), max_size=6).map(" ".join)
_post = st.tuples(
    st.integers(1, 30),
    st.none() | st.integers(1, 5),
    st.integers(0, 10**9),
    _caption,
    st.sampled_from(["photo", "video", "carousel"]),
    st.none() | st.just("img.jpg"),
    st.integers(0, 9),
    st.integers(0, 9),
)
_interaction = st.tuples(
    st.integers(1, 5),
    st.integers(1, 30),
    st.sampled_from(list(KIND_CODE)),
    st.integers(0, 100),
    st.none() | st.floats(0, 100, allow_nan=False),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    posts=st.lists(_post, max_size=12),
    follows=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(0, 9))),
    interactions=st.lists(_interaction, max_size=12),
)
def test_any_import_is_idempotent(posts, follows, interactions) -> None:
    known = {p[0] for p in posts}  # interactions must name existing posts (checked at commit)
    interactions = [i for i in interactions if i[1] in known]
    with Store.open(":memory:") as s:

        def write() -> None:
            with s.transaction():
                s.add_accounts([(i, f"u{i}", "", "person", 0) for i in range(1, 6)])
                s.add_posts(posts)
                s.add_follows(follows)
                s.add_interactions(interactions, update_counts=True)

        write()
        once, counter = dump(s), s.change_counter
        write()
        assert dump(s) == once
        assert s.change_counter == counter
        # The stored posts are the first row of each id, as written.
        first: dict[int, tuple] = {}
        for p in posts:
            first.setdefault(p[0], p)
        assert sorted(r[0] for r in rows(s, "SELECT id FROM posts")) == sorted(first)
        linked = rows(
            s,
            "SELECT p.post, h.tag, p.original FROM post_hashtags p JOIN hashtags h"
            " ON h.id = p.hashtag",
        )
        expected = {(i, n, o) for i, p in first.items() for n, o in extract_hashtags(p[3])}
        assert set(linked) == expected and len(linked) == len(expected)


# ----------------------------------------------------------------- transactions
def test_an_error_rolls_everything_back(store: Store) -> None:
    load(store)
    before, counter = dump(store), store.change_counter
    with pytest.raises(RuntimeError), store.transaction():
        store.add_accounts([(9, "new", "", 0, 0)])
        store.add_posts([(99, 9, 1, "#brandnewtag #mtb", 0, None, 0, 0)])
        store.add_interactions([(1, 10, "like", 1, None)], update_counts=True)
        store.remove_follows([(1, 2)])
        store.set_meta("now", 1)
        raise RuntimeError("boom")
    assert dump(store) == before
    assert store.change_counter == counter
    # The hashtag-id cache was reset with the rollback: the next new tag gets the next free id.
    with store.transaction():
        store.add_posts([(99, 9, 1, "#again", 0, None, 0, 0)])
    assert rows(store, "SELECT id, tag FROM hashtags WHERE tag = 'again'") == [(5, "again")]


def test_a_store_error_mid_batch_rolls_back(store: Store) -> None:
    load(store)
    before = dump(store)
    rows = [(1, 11, "like", t, None) for t in range(100)] + [(1, 11, "nope", 0, None)]
    with pytest.raises(StoreError, match="'nope'"), store.transaction():
        store.add_follows([(3, 1, 5)])
        store.add_interactions(rows)
    assert dump(store) == before


def test_nested_transactions_join_the_outer_one(store: Store) -> None:
    load(store)
    before = dump(store)
    with pytest.raises(ValueError), store.transaction() as outer:
        store.add_follows([(3, 1, 5)])
        with store.transaction() as inner:
            assert inner == outer
            store.add_follows([(1, 3, 5)])
        raise ValueError
    assert dump(store) == before


def test_writes_need_a_transaction(store: Store) -> None:
    with pytest.raises(StoreError, match="inside `with store"):
        store.add_follows([(1, 2, 3)])


def test_change_counter_advances_only_on_change(store: Store) -> None:
    with store.transaction() as seq:
        pass
    assert seq == 1 and store.change_counter == 0
    load(store)
    with store.transaction():
        store.add_follows([(3, 1, 5)])
    assert store.change_counter == 2
    assert rows(store, "SELECT seq FROM follows WHERE src = 3 AND dst = 1") == [(2,)]


# -------------------------------------------------------------------------- WAL
def test_wal_reader_reads_while_a_writer_holds_a_transaction(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = Store.open(path)
    load(writer)
    assert rows(writer, "PRAGMA journal_mode") == [("wal",)]
    reader = Store.open(path, create=False)
    inside = threading.Event()
    release = threading.Event()

    def write() -> None:
        with writer.transaction():
            writer.add_accounts([(4, "dee", "", 0, 0)])
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert inside.wait(10)
        start = time.perf_counter()
        assert reader.count("accounts") == 3  # the last committed state, without waiting
        assert time.perf_counter() - start < 1.0
        # A second writer would have to wait: the lock is really held.
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    finally:
        release.set()
        thread.join()
    assert reader.count("accounts") == 4
    reader.close()
    writer.close()


def test_wal_reader_keeps_a_consistent_snapshot_while_a_writer_commits(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store.open(path) as writer, Store.open(path) as reader:
        load(writer)
        reader.conn.execute("BEGIN")
        assert reader.count("follows") == 3
        with writer.transaction():  # commits although a reader is mid-read
            writer.add_follows([(3, 1, 5)])
        assert reader.count("follows") == 3
        reader.conn.execute("COMMIT")
        assert reader.count("follows") == 4


# ------------------------------------------------------- both backends: new seams
def test_a_reader_keeps_one_committed_state_while_a_writer_commits(store_url: str) -> None:
    with Store.open(store_url) as writer, Store.open(store_url) as reader:
        load(writer)
        with reader.read_consistently():
            assert reader.count("follows") == 3
            with writer.transaction():  # commits although a reader is mid-read
                writer.add_follows([(3, 1, 5)])
            assert reader.count("follows") == 3
        assert reader.count("follows") == 4


def test_external_keys_map_to_dense_ids_and_resync_updates_the_same_row(store: Store) -> None:
    with store.transaction():
        ids = store.upsert_accounts(
            [AccountRecord("csv:18446744073709551616", "ana"), AccountRecord("csv:7", "bo", "Bo")]
        )
    assert ids == {"csv:18446744073709551616": 1, "csv:7": 2}  # a 2^64 file id is just a key
    with store.transaction():
        posts = store.upsert_posts(
            [PostRecord("csv:p1", ids["csv:7"], 5000, "hi #mtb", like_count=2)]
        )
    assert posts == {"csv:p1": 1}
    counter = store.change_counter
    with store.transaction():  # the same keys again, one renamed handle and a new like count
        again = store.upsert_accounts([AccountRecord("csv:7", "bo_new", "Bo")])
        store.upsert_posts([PostRecord("csv:p1", 2, 5000, "hi #mtb", like_count=5)])
    assert again == {"csv:7": 2} and store.change_counter == counter + 1
    assert rows(store, "SELECT id, handle, ext_key FROM accounts ORDER BY id") == [
        (1, "ana", "csv:18446744073709551616"),
        (2, "bo_new", "csv:7"),
    ]
    assert rows(store, "SELECT id, like_count, ext_key FROM posts") == [(1, 5, "csv:p1")]
    with store.transaction():  # unchanged records change nothing, not even the counter
        store.upsert_accounts([AccountRecord("csv:7", "bo_new", "Bo")])
        store.upsert_posts([PostRecord("csv:p1", 2, 5000, "hi #mtb", like_count=5)])
    assert store.change_counter == counter + 1
    assert store.ids_for_keys("accounts", ["csv:7", "csv:nope"]) == {"csv:7": 2}
    with pytest.raises(StoreError, match="handle 'ana'"), store.transaction():
        store.upsert_accounts([AccountRecord("csv:8", "ana")])


def test_sync_state_is_saved_with_the_rows_it_describes(store: Store) -> None:
    with store.transaction():
        store.set_sync("bsky:did:plc:x", "cursor", "abc")
    with pytest.raises(RuntimeError), store.transaction():
        store.add_accounts([(5, "eve", "", 0, 0)])
        store.set_sync("bsky:did:plc:x", "cursor", "def")
        raise RuntimeError  # a killed sync: neither the rows nor the cursor moved
    assert store.get_sync("bsky:did:plc:x", "cursor") == "abc"
    assert store.sync_state("bsky:did:plc:x") == {"cursor": "abc"}
    assert store.get_sync("other", "cursor", "none") == "none"


def test_changes_since_reads_exactly_what_a_counter_missed(store: Store) -> None:
    load(store)
    first = store.changes_since(-1)
    assert first.counter == 1
    assert first.account_handles == ["ana", "bo", "cy"]
    assert sorted(first.posts["id"].tolist()) == [10, 11, 12]
    assert len(first.interactions) == 4 and len(first.follows) == 3
    top = int(first.interactions["id"].max())
    with store.transaction():
        store.remove_follows([(1, 2)])
        store.add_interactions([(2, 11, "like", 9999, None)], update_counts=True)
    later = store.changes_since(1, interaction_id=top, tag_id=len(first.hashtags))
    assert later.counter == 2
    assert later.removed_follows.tolist() == [(1, 2)]
    assert len(later.follows) == 0 and len(later.accounts) == 0
    assert later.posts[["id", "likes"]].tolist() == [(11, 1)]  # the count moved, in place
    assert later.interactions[["u", "p"]].tolist() == [(2, 11)]
    assert later.hashtags == []


def test_a_commit_wakes_a_waiting_process(store_url: str) -> None:
    with Store.open(store_url) as waiter, Store.open(store_url) as writer:
        load(writer)
        start = waiter.change_counter
        got: list[int] = []
        thread = threading.Thread(target=lambda: got.append(waiter.wait_for_change(start, 10)))
        thread.start()
        time.sleep(0.2)
        with writer.transaction():
            writer.add_follows([(3, 1, 5)])
        thread.join(10)
        assert got == [start + 1]
        assert waiter.wait_for_change(start + 1, 0.05) == start + 1  # nothing new: times out


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ((2**63, "x", "", 0, 0), "out of range"),
        ((5, "a\x00b", "", 0, 0), "control or format"),
        ((5, "[/]\u202e", "", 0, 0), "control or format"),
        ((5, "ok", "x" * 10_000_000, 0, 0), "at most"),
        ((5, "ok", "", 0, 10**20), "outside years"),
    ],
)
def test_hostile_values_never_reach_either_backend(store: Store, row: tuple, message: str) -> None:
    load(store)
    before = dump(store)
    with pytest.raises(StoreError, match=message), store.transaction():
        store.add_accounts([row])
    with pytest.raises(StoreError, match="like_count"), store.transaction():
        store.add_posts([(50, 1, 5000, "", "photo", None, 10**30, 0)])
    with pytest.raises(StoreError, match="caption"), store.transaction():
        store.add_posts([(50, 1, 5000, "nul\x00", "photo", None, 0, 0)])
    assert dump(store) == before
