"""The embedded store: round-trips, idempotence, all-or-nothing transactions, WAL readers."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discovery.store import KIND_CODE, NotFound, Store, StoreError, extract_hashtags

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


def dump(store: Store) -> list[str]:
    return list(store.conn.iterdump())


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "t.db")
    yield s
    s.close()


# ------------------------------------------------------------------ round trips
def test_every_entity_round_trips(store: Store) -> None:
    assert load(store) == (3, 3, 3, 2, 4)
    seq = store.change_counter
    assert seq == 1
    assert store.query("SELECT * FROM accounts ORDER BY id") == [
        (1, "ana", "Ana", 0, 100, seq),
        (2, "bo", "Bo B.", 1, 200, seq),
        (3, "cy", "", 0, 300, seq),
    ]
    assert store.query("SELECT * FROM follows ORDER BY src, dst") == [
        (1, 2, 1000, seq),
        (2, 1, 1001, seq),
        (3, 2, 1002, seq),
    ]
    assert store.query("SELECT * FROM posts ORDER BY id") == [
        (10, 2, 5000, "Sunset ride #MTB #Sunsets 🌅 #mtb", 0, "img/10.jpg", 2, 1, seq),
        (11, 1, 6000, "", 1, None, 0, 0, seq),
        (12, None, 7000, "no author #🌅", 2, "https://example.org/y.png", 0, 0, seq),
    ]
    tags = store.query(
        "SELECT p.post, h.tag, p.original FROM post_hashtags p JOIN hashtags h ON h.id = p.hashtag"
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
    assert store.query(
        "SELECT user, post, kind, created_at, value FROM interactions ORDER BY created_at"
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
    assert store.meta()["schema_version"] == "1"


def test_survives_close_and_reopen(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.db") as s:
        load(s)
        before = dump(s)
    with Store.open(tmp_path / "r.db", create=False) as s:
        assert dump(s) == before


def test_remove_follows_leaves_a_tombstone(store: Store) -> None:
    load(store)
    with store.transaction() as seq:
        assert store.remove_follows([(1, 2), (2, 3)]) == 1  # (2, 3) never existed
    assert seq == 2
    assert store.query("SELECT src, dst FROM follows ORDER BY src") == [(2, 1), (3, 2)]
    assert store.query("SELECT * FROM removed_follows") == [(2, 1, 2)]


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


def test_importing_twice_from_a_fresh_process_changes_nothing(tmp_path: Path) -> None:
    # A new Store has a cold hashtag-id cache: it must find the existing ids, not make new ones.
    with Store.open(tmp_path / "i.db") as s:
        load(s)
        before = dump(s)
    with Store.open(tmp_path / "i.db") as s:
        assert load(s) == (0, 0, 0, 0, 0)
        assert dump(s) == before


def test_live_counts_increment_once(store: Store) -> None:
    load(store)
    events = [(2, 10, "like", 9500, None), (2, 10, "comment", 9501, None)]
    for _ in range(2):
        with store.transaction():
            store.add_interactions(events, update_counts=True)
    assert store.query("SELECT like_count, comment_count, seq FROM posts WHERE id = 10") == [
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
        rows = [(20, 1, 1, "#first", 0, None, 0, 0), (20, 1, 1, "#second", 0, None, 0, 0)]
        assert store.add_posts(rows) == 1
    assert store.query(
        "SELECT h.tag FROM post_hashtags p JOIN hashtags h ON h.id = p.hashtag WHERE post = 20"
    ) == [("first",)]


def test_a_taken_handle_is_an_error_not_a_silent_drop(store: Store) -> None:
    load(store)
    before = dump(store)
    with (
        pytest.raises(StoreError, match="account 7: handle 'ana' is already taken by account 1"),
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
        assert sorted(r[0] for r in s.query("SELECT id FROM posts")) == sorted(first)
        linked = s.query(
            "SELECT p.post, h.tag, p.original FROM post_hashtags p JOIN hashtags h"
            " ON h.id = p.hashtag"
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
    assert store.query("SELECT id, tag FROM hashtags WHERE tag = 'again'") == [(5, "again")]


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
    assert store.query("SELECT seq FROM follows WHERE src = 3 AND dst = 1") == [(2,)]


# -------------------------------------------------------------------------- WAL
def test_wal_reader_reads_while_a_writer_holds_a_transaction(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = Store.open(path)
    load(writer)
    assert writer.query("PRAGMA journal_mode") == [("wal",)]
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
