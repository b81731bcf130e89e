"""The delimited-file importer on small files written here, with hand-checked expected rows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from discovery.errors import InputError
from discovery.sources import import_csv, prepare_csv
from discovery.store import KIND_CODE, Store

JAN1 = 1_704_067_200  # 2024-01-01T00:00:00Z
DAY = 86_400

ACCOUNTS = """id,handle,display_name,kind,created_at
1,@ana,Ana,person,2024-01-01T00:00:00Z
2,bo,"Bo, the brand",Brand,1704067200
"""
FOLLOWS = """src,dst,created_at
1,2,2024-01-02
3,1,1704240000
"""
POSTS = """id,author,taken_at,caption,media_type,image,like_count,comment_count
10,2,2024-01-05T12:00:00Z,"Sunset, ride #MTB #sunsets",photo,img/10.jpg,7,
11,,2024-01-06,"two-line
caption #x",VIDEO,,,1
"""
INTERACTIONS = """user,post,kind,created_at,value
1,10,like,2024-01-07,
4,10,comment,2024-01-02,
1,11,view,2024-01-09,3.5
"""


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def files(tmp_path: Path, **texts: str) -> dict[str, Path]:
    return {kind: write(tmp_path, f"{kind}.csv", text) for kind, text in texts.items()}


def query(store: Store, sql: str, params: tuple = ()) -> list[tuple]:
    return [tuple(r) for r in store._fetch(sql, params)]


TABLES = ("meta", "accounts", "follows", "posts", "hashtags", "post_hashtags", "interactions")


def dump(store: Store) -> list[tuple]:
    return [
        (t, *row) for t in TABLES for row in sorted(query(store, f"SELECT * FROM {t}"), key=repr)
    ]


# The files' ids are keys (csv:<id>); these read the rows back in the files' terms.
ACCOUNT_ROWS = "SELECT ext_key, handle, display_name, kind, created_at FROM accounts ORDER BY 1"
FOLLOW_ROWS = (
    "SELECT s.ext_key, d.ext_key, f.created_at FROM follows f"
    " JOIN accounts s ON s.id = f.src JOIN accounts d ON d.id = f.dst ORDER BY 1, 2"
)
INTERACTION_ROWS = (
    "SELECT a.ext_key, p.ext_key, i.kind, i.created_at, i.value FROM interactions i"
    " JOIN accounts a ON a.id = i.account JOIN posts p ON p.id = i.post"
    " ORDER BY i.created_at, 1, 2"
)


def post_rows(columns: str = "") -> str:
    return (
        f"SELECT p.ext_key, a.ext_key{columns} FROM posts p"
        " LEFT JOIN accounts a ON a.id = p.author ORDER BY 1"
    )


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "db.sqlite")
    yield s
    s.close()


def full(tmp_path: Path) -> dict[str, Path]:
    return files(
        tmp_path, accounts=ACCOUNTS, follows=FOLLOWS, posts=POSTS, interactions=INTERACTIONS
    )


def test_a_full_import_stores_exactly_the_rows(tmp_path: Path, store: Store) -> None:
    summary = import_csv(store, **full(tmp_path))
    assert summary.rows == [
        ("posts", 2, 2),
        ("interactions", 3, 3),
        ("follows", 2, 2),
        ("accounts", 2, 2),
        ("accounts (referenced, not listed)", 2, 2),  # 3 and 4
        ("hashtag links", None, 3),
    ]
    assert query(store, ACCOUNT_ROWS) == [
        ("csv:1", "ana", "Ana", 0, JAN1),  # '@' dropped from the handle
        ("csv:2", "bo", "Bo, the brand", 1, JAN1),
        ("csv:3", "3", "", 0, JAN1 + 2 * DAY),  # first seen in a follow on Jan 3
        ("csv:4", "4", "", 0, JAN1 + DAY),  # first seen commenting on Jan 2
    ]
    # internal ids are the store's: dense, from 1
    assert sorted(i for (i,) in query(store, "SELECT id FROM accounts")) == [1, 2, 3, 4]
    assert query(store, FOLLOW_ROWS) == [
        ("csv:1", "csv:2", JAN1 + DAY),
        ("csv:3", "csv:1", JAN1 + 2 * DAY),
    ]
    assert query(
        store, post_rows(", taken_at, caption, media_type, image, like_count, comment_count")
    ) == [
        (
            "csv:10",
            "csv:2",
            JAN1 + 4 * DAY + 12 * 3600,
            "Sunset, ride #MTB #sunsets",
            0,
            "img/10.jpg",
            7,
            0,
        ),
        ("csv:11", None, JAN1 + 5 * DAY, "two-line\ncaption #x", 1, None, 0, 1),
    ]
    assert query(store, INTERACTION_ROWS) == [
        ("csv:4", "csv:10", KIND_CODE["comment"], JAN1 + DAY, None),
        ("csv:1", "csv:10", KIND_CODE["like"], JAN1 + 6 * DAY, None),
        ("csv:1", "csv:11", KIND_CODE["view"], JAN1 + 8 * DAY, 3.5),
    ]
    assert store.get_meta("now") == str(JAN1 + 8 * DAY)
    assert store.get_meta("dataset") == "csv"
    assert summary.first == JAN1 + DAY and summary.last == JAN1 + 8 * DAY


def test_reimporting_the_same_files_changes_nothing(tmp_path: Path, store: Store) -> None:
    paths = full(tmp_path)
    import_csv(store, **paths)
    before, counter = dump(store), store.change_counter
    again = import_csv(store, **paths)
    assert [new for _, _, new in again.rows] == [0, 0, 0, 0, 0, 0]
    assert dump(store) == before
    assert store.change_counter == counter == 1


def test_counts_come_from_interactions_when_the_posts_file_has_none(
    tmp_path: Path, store: Store
) -> None:
    paths = files(
        tmp_path,
        posts="id,author,taken_at\n10,1,0\n11,1,0\n",
        interactions="user,post,kind,created_at\n"
        "2,10,like,5\n3,10,like,6\n2,10,like,5\n"  # the repeated row is one like
        "2,10,comment,7\n2,11,save,8\n",
    )
    import_csv(store, **paths)
    counts = "SELECT ext_key, like_count, comment_count FROM posts ORDER BY ext_key"
    assert query(store, counts) == [("csv:10", 2, 1), ("csv:11", 0, 0)]
    import_csv(store, **paths)
    assert query(store, counts) == [("csv:10", 2, 1), ("csv:11", 0, 0)]
    # Later interactions on posts already stored are counted too.
    more = write(tmp_path, "more.csv", "user,post,kind,created_at\n4,11,like,9\n2,10,like,5\n")
    import_csv(store, interactions=more)
    assert query(store, counts) == [("csv:10", 2, 1), ("csv:11", 1, 0)]


def test_a_mapping_renames_columns_and_sets_constants(tmp_path: Path, store: Store) -> None:
    follows = write(tmp_path, "f.txt", "follower;followee;extra\n5;6;x\n6;5;y\n")
    interactions = write(tmp_path, "i.txt", "who;what;when\n5;1;2024-01-01\n")
    posts = write(tmp_path, "p.txt", "pid;by;at;text\n1;6;0;hello #World\n")
    mapping = write(
        tmp_path,
        "m.json",
        json.dumps(
            {
                "follows": {"src": "follower", "dst": "followee", "created_at": {"value": 42}},
                "posts": {"id": "pid", "author": "by", "taken_at": "at", "caption": "text"},
                "interactions": {
                    "user": "who",
                    "post": "what",
                    "created_at": "when",
                    "kind": {"value": "save"},
                },
            }
        ),
    )
    import_csv(
        store,
        follows=follows,
        posts=posts,
        interactions=interactions,
        mapping=mapping,
        delimiter=";",
    )
    assert query(store, FOLLOW_ROWS) == [("csv:5", "csv:6", 42), ("csv:6", "csv:5", 42)]
    assert query(store, INTERACTION_ROWS) == [("csv:5", "csv:1", KIND_CODE["save"], JAN1, None)]
    assert query(store, post_rows(", caption")) == [("csv:1", "csv:6", "hello #World")]


def test_defaults_for_absent_columns(tmp_path: Path, store: Store) -> None:
    paths = files(
        tmp_path,
        posts='id,taken_at,tags\n1,100,"#Hiking, mtb #🌅"\n',
        follows="src,dst\n7,8\n",
        accounts="id\n7\n",
    )
    import_csv(store, **paths)
    # follows and accounts without created_at get the earliest time in the import
    assert query(store, FOLLOW_ROWS) == [("csv:7", "csv:8", 100)]
    assert query(store, ACCOUNT_ROWS) == [
        ("csv:7", "7", "", 0, 100),
        ("csv:8", "8", "", 0, 100),
    ]
    assert query(store, post_rows(", caption, media_type, image, like_count")) == [
        ("csv:1", None, "", 0, None, 0)
    ]
    tags = query(
        store,
        "SELECT h.tag, p.original FROM post_hashtags p JOIN hashtags h"
        " ON h.id = p.hashtag ORDER BY h.id",
    )
    assert tags == [("hiking", "#Hiking"), ("mtb", "mtb"), ("🌅", "#🌅")]


def test_tabs_a_bom_and_another_encoding(tmp_path: Path, store: Store) -> None:
    posts = tmp_path / "p.tsv"
    posts.write_bytes("\ufeffid\ttaken_at\tcaption\n1\t0\tcafé #Crème\n".encode("utf-8"))
    import_csv(store, posts=posts, delimiter="tab")
    latin = write(tmp_path, "l.tsv", "id\ttaken_at\tcaption\n2\t0\tfußball\n", "latin-1")
    with pytest.raises(InputError, match=r"l.tsv: not utf-8-sig text .* use --encoding"):
        import_csv(store, posts=latin, delimiter="\t")
    import_csv(store, posts=latin, delimiter="\t", encoding="latin-1")
    assert query(store, "SELECT caption FROM posts ORDER BY id") == [("café #Crème",), ("fußball",)]
    assert query(store, "SELECT tag FROM hashtags") == [("crème",)]


# ------------------------------------------------------------------ bad input
BAD_ROWS = [
    ("follows", "src,dst\n1,2\n1,a b\n", "follows.csv:3: dst: 'a b' contains white space"),
    ("follows", "src,dst\n1,1\n", "follows.csv:2: account 1 cannot follow itself"),
    ("follows", "src,dst\n1,2,3\n", "follows.csv:2: 3 fields, the header has 2"),
    (
        "follows",
        "src,dst,created_at\n1,2,yesterday\n",
        "follows.csv:2: created_at: 'yesterday' is not Unix seconds or ISO-8601",
    ),
    (
        "interactions",
        "user,post,kind,created_at\n1,10,love,0\n",
        "interactions.csv:2: kind: 'love' is not one of like, comment, save, share, click, view,"
        " impression, hide, tag",
    ),
    (
        "interactions",
        "user,post,kind,created_at,value\n1,10,like,0,lots\n",
        "interactions.csv:2: value: 'lots' is not a number",
    ),
    (
        "interactions",
        "user,post,kind,created_at\n1,10,like,0\n1,99,like,0\n1,99,save,0\n",
        "interactions.csv:3: post 99 is in neither the posts file nor the database",
    ),
    ("posts", "id,taken_at\n5,0\n\n5,1\n", "posts.csv:4: post 5 is already on line 2"),
    (
        "posts",
        "id,taken_at,media_type\n5,0,reel\n",
        "posts.csv:2: media_type: 'reel' is not one of photo, video, carousel",
    ),
    (
        "posts",
        "id,taken_at,like_count\n5,0,-1\n",
        "posts.csv:2: like_count: -1 is out of range (0 ≤ n ≤ 2147483647)",
    ),
    (
        "accounts",
        "id,handle\n5,x\n6,@x\n",
        "accounts.csv:3: handle 'x' is already used by account 5 on line 2",
    ),
    ("accounts", "id,kind\n5,robot\n", "accounts.csv:2: kind: 'robot' is not one of person, brand"),
    (
        "posts",
        "id\n1\n",
        "posts.csv: no column 'taken_at' for posts field 'taken_at' (columns: id)",
    ),
    ("posts", "", "posts.csv: empty file"),
]


@pytest.mark.parametrize(("kind", "text", "message"), BAD_ROWS)
def test_a_bad_row_names_file_and_line_and_changes_nothing(
    tmp_path: Path, store: Store, kind: str, text: str, message: str
) -> None:
    # Good files first, so there is something to roll back; the post 10 exists.
    good = files(tmp_path, posts="id,taken_at\n10,0\n")
    import_csv(store, **good)
    before, counter = dump(store), store.change_counter
    (tmp_path / "bad").mkdir()
    paths = files(tmp_path / "bad", posts="id,taken_at\n20,5\n21,6\n")
    paths[kind] = write(tmp_path / "bad", f"{kind}.csv", text)
    with pytest.raises(InputError) as err:
        import_csv(store, **paths)
    assert str(err.value).startswith(f"{tmp_path / 'bad'}/{message}")
    assert "more bad row" not in str(err.value)
    assert dump(store) == before
    assert store.change_counter == counter


def test_several_bad_rows_are_counted(tmp_path: Path, store: Store) -> None:
    paths = files(tmp_path, follows="src,dst\nx y,1\n1,2\ny\tz,1\n,1\n")
    with pytest.raises(InputError) as err:
        import_csv(store, **paths)
    assert (
        str(err.value)
        == f"{paths['follows']}:2: src: 'x y' contains white space (U+0020) (and 2 more bad rows)"
    )
    assert store.count("follows") == 0 and store.change_counter == 0


def test_a_handle_taken_in_the_database(tmp_path: Path, store: Store) -> None:
    import_csv(store, **files(tmp_path, accounts="id,handle\n1,5\n"))
    before = dump(store)
    follows = write(tmp_path, "f.csv", "src,dst\n1,5\n")  # 5 would get handle '5'
    with pytest.raises(InputError, match=r"handle '5'.* is already taken .*with --accounts"):
        import_csv(store, follows=follows)
    assert dump(store) == before


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"friends": {}}, "unknown file kind 'friends'"),
        ({"follows": {"source": "a"}}, "follows.source: unknown field"),
        ({"follows": {"src": 3}}, 'follows.src: expected a column name, null, or {"value": ...}'),
        ({"follows": {"src": {"value": "x y"}}}, "follows.src: src: 'x y' contains white space"),
        ({"interactions": {"kind": {"value": "love"}}}, "interactions.kind: kind: 'love'"),
        ([1], "a mapping is a JSON object"),
    ],
)
def test_bad_mappings(tmp_path: Path, mapping: object, message: str) -> None:
    path = write(tmp_path, "m.json", json.dumps(mapping))
    follows = write(tmp_path, "f.csv", "src,dst\n1,2\n")
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}(:\d+)?: ") as err:
        prepare_csv(follows=follows, mapping=path)
    assert message in str(err.value)


def test_mapping_errors_about_columns(tmp_path: Path, store: Store) -> None:
    follows = write(tmp_path, "f.csv", "a,b\n1,2\n")
    with pytest.raises(InputError, match=r"f.csv: no column 'from' for follows field 'src'"):
        import_csv(store, follows=follows, mapping={"follows": {"src": "from", "dst": "b"}})
    with pytest.raises(InputError, match="follows field 'src' is required"):
        import_csv(store, follows=follows, mapping={"follows": {"src": None, "dst": "b"}})
    with pytest.raises(InputError, match=r"no column 'when' for follows field 'created_at'"):
        mapping = {"follows": {"src": "a", "dst": "b", "created_at": "when"}}
        import_csv(store, follows=follows, mapping=mapping)
    bad_json = write(tmp_path, "m.json", '{"follows": ')
    with pytest.raises(InputError, match=r"m.json:1: not valid JSON"):
        prepare_csv(follows=follows, mapping=bad_json)
    assert store.change_counter == 0


def test_arguments_are_checked_before_any_import(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nothing to import"):
        prepare_csv()
    with pytest.raises(InputError, match=r"nope\.csv: no such file"):
        prepare_csv(follows=tmp_path / "nope.csv")
    follows = write(tmp_path, "f.csv", "src,dst\n1,2\n")
    with pytest.raises(InputError, match="--delimiter must be one character, got ';;'"):
        prepare_csv(follows=follows, delimiter=";;")
    with pytest.raises(InputError, match="unknown text encoding 'klingon'"):
        prepare_csv(follows=follows, encoding="klingon")


def test_existing_posts_keep_their_tags(tmp_path: Path, store: Store) -> None:
    first = write(tmp_path, "a.csv", "id,taken_at,caption,tags\n1,0,#one,two\n")
    import_csv(store, posts=first)
    before = dump(store)
    changed = write(tmp_path, "b.csv", "id,taken_at,caption,tags\n1,0,#three,four\n")
    assert import_csv(store, posts=changed).rows == [("posts", 1, 0), ("hashtag links", None, 0)]
    assert dump(store) == before


def test_file_ids_are_keys_not_internal_ids(tmp_path: Path, store: Store) -> None:
    big, text = str(2**64), "user-42"
    paths = files(
        tmp_path,
        accounts=f"id,handle\n{big},huge\n{text},named\n",
        follows=f"src,dst\n{big},{text}\n007,{big}\n",
        posts=f"id,author,taken_at\n{2**70},{text},0\n",
    )
    import_csv(store, **paths)
    assert query(store, FOLLOW_ROWS) == [
        ("csv:18446744073709551616", "csv:user-42", 0),
        ("csv:7", "csv:18446744073709551616", 0),  # 007 is 7
    ]
    assert query(store, post_rows()) == [(f"csv:{2**70}", "csv:user-42")]
    assert max(i for (i,) in query(store, "SELECT id FROM accounts")) == 3  # dense
    before = dump(store)
    import_csv(store, **paths)
    assert dump(store) == before
