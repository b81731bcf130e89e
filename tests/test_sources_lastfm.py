"""The Last.fm-2k preset: every rule on a tiny hand-written copy, then the real files' counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from discovery.errors import InputError
from discovery.sources import import_csv, import_lastfm
from discovery.store import KIND_CODE, Store

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "lastfm-2k"

MAR1_2008 = 1_204_329_600
APR1_2009 = 1_238_544_000
MAY1_2009 = 1_241_136_000
LIKE, VIEW = KIND_CODE["like"], KIND_CODE["view"]

TINY = {
    "artists.dat": "id\tname\turl\tpictureURL\n"
    "1\tRöyksopp\thttp://www.last.fm/music/R%C3%B6yksopp\thttp://img/1.jpg\n"
    "2\t#2 Orchestra\thttp://x\t\n"
    "3\tNobody Tags Me\thttp://x\thttp://img/3.jpg\n",
    "user_friends.dat": "userID\tfriendID\n10\t20\n20\t10\n",
    "user_taggedartists.dat": "userID\tartistID\ttagID\tday\tmonth\tyear\n"
    "10\t1\t1\t1\t4\t2009\n"
    "10\t1\t2\t1\t4\t2009\n"  # same user, artist and day: one like, value 2
    "10\t2\t2\t1\t5\t2009\n"
    "20\t1\t1\t1\t3\t2008\n"
    "20\t2\t3\t1\t1\t1956\n"  # impossible year: the tag stays, no like
    "20\t99\t1\t1\t1\t2009\n",  # artist missing from artists.dat: dropped
    "user_artists.dat": "userID\tartistID\tweight\n"
    "10\t1\t500\n"  # dated at 10's first tag of artist 1
    "10\t3\t7\n"  # never tagged by 10: dated at 10's first tag
    "20\t2\t30\n"  # 20's only tag of 2 has a bad year: 20's first valid tag
    "30\t1\t1\n",  # 30 never tags: the dataset's first date
}


def query(store: Store, sql: str, params: tuple = ()) -> list[tuple]:
    return [tuple(r) for r in store._fetch(sql, params)]


TABLES = ("meta", "accounts", "follows", "posts", "hashtags", "post_hashtags", "interactions")


def dump(store: Store) -> list[tuple]:
    return [(t, *r) for t in TABLES for r in sorted(query(store, f"SELECT * FROM {t}"), key=repr)]


# Users and artists are stored under keys (lastfm:u<id>, lastfm:a<id>); these read rows back
# in the dataset's ids.
USER = "CAST(SUBSTR({0}.ext_key, 9) AS INTEGER)"  # 'lastfm:u10' -> 10
ACCOUNTS_SQL = f"SELECT {USER.format('a')}, handle, created_at FROM accounts a ORDER BY 1"
FOLLOWS_SQL = (
    f"SELECT {USER.format('s')}, {USER.format('d')}, f.created_at FROM follows f"
    " JOIN accounts s ON s.id = f.src JOIN accounts d ON d.id = f.dst ORDER BY 1, 2"
)
POSTS_SQL = (
    f"SELECT {USER.format('p')}, author, taken_at, caption, image, like_count, comment_count"
    " FROM posts p ORDER BY 1"
)
TAGS_SQL = (
    f"SELECT {USER.format('q')}, h.tag, p.original FROM post_hashtags p"
    " JOIN hashtags h ON h.id = p.hashtag JOIN posts q ON q.id = p.post"
)
INTERACTIONS_SQL = (
    f"SELECT {USER.format('a')}, {USER.format('p')}, i.kind, i.created_at, i.value"
    " FROM interactions i JOIN accounts a ON a.id = i.account JOIN posts p ON p.id = i.post"
    " ORDER BY 3, 1, 2"
)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    root = tmp_path / "lastfm"
    root.mkdir()
    for name, text in TINY.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "tags.dat").write_bytes(
        "tagID\ttagValue\n1\telectrónica\n2\tChill Out\n3\tfußball\n".encode("latin-1")
    )
    return root


def test_tiny_copy_maps_every_rule(tiny: Path, tmp_path: Path) -> None:
    with Store.open(tmp_path / "l.db") as s:
        summary = import_lastfm(s, tiny)
        assert query(s, ACCOUNTS_SQL) == [
            (10, "10", APR1_2009),
            (20, "20", MAR1_2008),
            (30, "30", MAR1_2008),
        ]
        assert query(s, FOLLOWS_SQL) == [
            (10, 20, MAR1_2008),
            (20, 10, MAR1_2008),
        ]
        assert query(s, POSTS_SQL) == [
            (1, None, MAR1_2008, "Röyksopp", "http://img/1.jpg", 2, 0),
            (2, None, MAY1_2009, "#2 Orchestra", None, 1, 0),
            (3, None, MAR1_2008, "Nobody Tags Me", "http://img/3.jpg", 0, 0),
        ]
        assert sorted(query(s, TAGS_SQL)) == [
            (1, "chill out", "Chill Out"),
            (1, "electrónica", "electrónica"),  # Latin-1 decoded, not mojibake
            (2, "2", "2"),  # from the caption '#2 Orchestra': names are data, parsed as such
            (2, "chill out", "Chill Out"),
            (2, "fussball", "fußball"),  # from the assignment with the impossible year
        ]
        assert query(s, INTERACTIONS_SQL) == [
            (10, 1, LIKE, APR1_2009, 2.0),
            (10, 2, LIKE, MAY1_2009, 1.0),
            (20, 1, LIKE, MAR1_2008, 1.0),
            (10, 1, VIEW, APR1_2009, 500.0),
            (10, 3, VIEW, APR1_2009, 7.0),
            (20, 2, VIEW, MAR1_2008, 30.0),
            (30, 1, VIEW, MAR1_2008, 1.0),
        ]
        assert s.get_meta("now") == str(MAY1_2009)
        assert s.get_meta("dataset") == "lastfm-2k"
    assert (summary.first, summary.last) == (MAR1_2008, MAY1_2009)
    assert any("1 tag assignments with impossible dates (years 1956)" in n for n in summary.notes)
    assert any(
        "1 tag assignments on 1 artists missing from artists.dat" in n for n in summary.notes
    )


def test_tiny_reimport_changes_nothing(tiny: Path, tmp_path: Path) -> None:
    with Store.open(tmp_path / "l.db") as s:
        import_lastfm(s, tiny)
        before, counter = dump(s), s.change_counter
        again = import_lastfm(s, tiny)
        assert all(new == 0 for _, _, new in again.rows)
        assert dump(s) == before and s.change_counter == counter


def test_refuses_a_database_holding_other_data(tiny: Path, tmp_path: Path) -> None:
    follows = tmp_path / "f.csv"
    follows.write_text("src,dst\n1,2\n")
    with Store.open(tmp_path / "other.db") as s:
        import_csv(s, follows=follows)
        before = dump(s)
        with pytest.raises(InputError, match=r"already holds other data .*fresh --db"):
            import_lastfm(s, tiny)
        assert dump(s) == before


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "user_friends.dat",
            "userID\tfriendID\n10\t20\n10\tx\n",
            "user_friends.dat:3: friendID: 'x' is not an integer",
        ),
        (
            "user_friends.dat",
            "user\tfriend\n",
            "user_friends.dat:1: expected columns userID, friendID",
        ),
        (
            "user_artists.dat",
            "userID\tartistID\tweight\n10\t1\n",
            "user_artists.dat:2: 2 fields, expected 3",
        ),
        (
            "user_artists.dat",
            "userID\tartistID\tweight\n10\t77\t1\n",
            "user_artists.dat:2: artistID 77 is not in artists.dat",
        ),
        (
            "user_taggedartists.dat",
            "userID\tartistID\ttagID\tday\tmonth\tyear\n10\t1\t9\t1\t1\t2009\n",
            "user_taggedartists.dat:2: tagID 9 is not in tags.dat",
        ),
        (
            "artists.dat",
            "id\tname\turl\tpictureURL\n1\tAé\tu\tp\n".encode("latin-1").decode(
                "utf-8", "surrogateescape"
            ),
            "artists.dat: not utf-8 text",
        ),
    ],
)
def test_bad_files_are_reported_with_file_and_line(
    tiny: Path, tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tiny / name).write_text(text, encoding="utf-8", errors="surrogateescape")
    with Store.open(tmp_path / "l.db") as s:
        with pytest.raises(InputError) as err:
            import_lastfm(s, tiny)
        assert str(err.value).startswith(f"{tiny / message}")
        assert s.change_counter == 0 and s.count("accounts") == 0


def test_a_missing_file_or_folder(tiny: Path) -> None:
    (tiny / "tags.dat").unlink()
    with pytest.raises(InputError, match=r"no tags\.dat"):
        import_lastfm(Store.open(":memory:"), tiny)
    with pytest.raises(InputError, match="no such directory"):
        import_lastfm(Store.open(":memory:"), tiny / "nope")


# --------------------------------------------------------------- the real files
@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory):
    if not (REAL / "user_friends.dat").is_file():
        pytest.skip(f"Last.fm-2k data not found at {REAL.resolve()} (shared data is optional)")
    path = tmp_path_factory.mktemp("lastfm") / "lastfm.db"
    with Store.open(path) as s:
        summary = import_lastfm(s, REAL)
    store = Store.open(path)
    yield store, summary
    store.close()


@pytest.mark.slow
def test_real_files_known_counts(real) -> None:
    s, summary = real
    # From the dataset's readme: users, artists, friend pairs, listening pairs.
    assert s.count("accounts") == 1892
    assert s.count("follows") == 25434
    assert s.count("posts") == 17632
    assert query(s, "SELECT COUNT(*) FROM interactions WHERE kind = ?", (VIEW,)) == [(92834,)]
    # Counted independently with pandas: 186,479 assignments; 1,538 on 390 artists absent from
    # artists.dat; 5 with years 1956 (3), 1957, 1979; 84,197 distinct (user, artist, day)
    # among the rest; 108,437 distinct (artist, tag) pairs; 9,718 distinct tag texts.
    assert query(s, "SELECT COUNT(*) FROM interactions WHERE kind = ?", (LIKE,)) == [(84197,)]
    assert s.count("post_hashtags") == 108437 + 1  # + '#2 Orchestra' parsed from its caption
    assert s.count("hashtags") == 9718  # tags.dat already has the tag "2" (id 10178)
    assert summary.notes == [
        "186479 tag assignments read",
        "5 tag assignments with impossible dates (years 1956, 1957, 1979):"
        " tag kept on the artist, no like",
        "1538 tag assignments on 390 artists missing from artists.dat: dropped",
    ]
    # every friendship both ways, no author on any item, 444 artists without a picture
    assert query(
        s,
        "SELECT COUNT(*) FROM follows f WHERE NOT EXISTS"
        " (SELECT 1 FROM follows g WHERE g.src = f.dst AND g.dst = f.src)",
    ) == [(0,)]
    assert query(s, "SELECT COUNT(*) FROM posts WHERE author IS NOT NULL") == [(0,)]
    assert query(s, "SELECT COUNT(*) FROM posts WHERE image IS NULL") == [(444,)]
    assert query(s, "SELECT SUM(like_count) FROM posts") == [(84197,)]
    # first line of user_taggedartists.dat: user 2 tagged artist 52 on 1 April 2009 (5 tags
    # that day, lines 2-6); user_artists.dat line 2: user 2 played artist 51 13,883 times
    one = (
        "SELECT i.created_at, i.value FROM interactions i JOIN accounts a ON a.id = i.account"
        " JOIN posts p ON p.id = i.post WHERE a.ext_key = ? AND p.ext_key = ? AND i.kind = ?"
    )
    assert query(s, one, ("lastfm:u2", "lastfm:a52", LIKE)) == [(APR1_2009, 5.0)]
    assert [v for _, v in query(s, one, ("lastfm:u2", "lastfm:a51", VIEW))] == [13883.0]
    assert query(s, "SELECT tag FROM hashtags WHERE tag IN ('tropicália', 'fussball')") != []
    assert s.get_meta("now") == "1304899200"  # 2011-05-09, the last valid date
    assert (summary.first, summary.last) == (1_122_854_400, 1_304_899_200)  # 2005-08-01 …


@pytest.mark.slow
def test_real_files_reimport_changes_nothing(real) -> None:
    s, _ = real
    counter, before = s.change_counter, dump(s)
    again = import_lastfm(s, REAL)
    assert all(new == 0 for _, _, new in again.rows)
    assert s.change_counter == counter and dump(s) == before
