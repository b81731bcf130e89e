"""Issue 10, section 5: hostile values in imported files, as a new user would meet them.

Each case of the issue is a test here. Worlds are built the way a user builds them (the CSV
importer, the CLI), and a poisoned database is made by writing SQL to the file directly, as an
older version or another tool could have left it.
"""

from __future__ import annotations

import re
import sqlite3
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from cli_run import run_cli as run
from discovery.errors import InputError
from discovery.sources import import_csv
from discovery.store import Store

with warnings.catch_warnings():  # starlette nudges towards httpx2; httpx works
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

NOW = int(time.time())
HOUR = 3600
SLASH, BRACKETS, MARKUP = "a/b", "[/]", "[red]boom[/red]"
ACCOUNTS = f"""id,handle,display_name
1,ana,Ana
2,{SLASH},Slash
3,{BRACKETS},Brackets
4,{MARKUP},Markup
5,bo,Bo
6,cy,Cy
"""
FOLLOWS = "src,dst\n1,2\n1,3\n1,4\n2,5\n5,1\n3,6\n6,1\n2,6\n4,5\n"
POSTS = f"""id,author,taken_at,caption,like_count
10,2,{NOW - 5 * HOUR},slash post #hiking,3
11,3,{NOW - 6 * HOUR},brackets post #hiking,2
12,4,{NOW - 7 * HOUR},markup post #sunset,1
13,5,{NOW - 8 * HOUR},bo post #hiking,9
14,6,{NOW - 9 * HOUR},cy post #sunset,4
15,1,{NOW - 10 * HOUR},ana post #hiking,0
"""
INTERACTIONS = f"""user,post,kind,created_at
2,13,like,{NOW - 2 * HOUR}
2,14,like,{NOW - 2 * HOUR}
3,13,like,{NOW - 3 * HOUR}
4,13,like,{NOW - 3 * HOUR}
1,14,like,{NOW - HOUR}
"""


def write_files(folder: Path, **texts: str) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for kind, text in texts.items():
        out[kind] = folder / f"{kind}.csv"
        out[kind].write_text(text, encoding="utf-8")
    return out


def world_files(folder: Path) -> dict[str, Path]:
    return write_files(
        folder, accounts=ACCOUNTS, follows=FOLLOWS, posts=POSTS, interactions=INTERACTIONS
    )


def sql(db: Path, statement: str, params: tuple = ()) -> list[tuple]:
    """Direct SQL on the file, bypassing every check (how a poisoned database comes about)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(statement, params).fetchall()
    conn.close()
    return rows


def post_id(db: Path, caption_start: str) -> int:
    (pid,) = sql(db, "SELECT id FROM posts WHERE caption LIKE ?", (caption_start + "%",))[0]
    return int(pid)


@pytest.fixture
def world(tmp_path: Path) -> Path:
    db = tmp_path / "w.db"
    with Store.open(db) as store:
        import_csv(store, **world_files(tmp_path / "files"))
    return db


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # rich folds narrow tables; keep each cell on a line


def client_for(db: Path) -> TestClient:
    from discovery.service import create_app

    return TestClient(create_app(db), raise_server_exceptions=False)


@pytest.fixture
def client(world: Path) -> Iterator[TestClient]:
    with client_for(world) as c:
        yield c


def dump(db: Path) -> list[str]:
    """Every row, as SQL. ``sqlite_sequence`` is left out: AUTOINCREMENT advances it on an
    insert that a conflict then skips, like a PostgreSQL sequence — bookkeeping, not data."""
    conn = sqlite3.connect(db)
    try:
        return [line for line in conn.iterdump() if "sqlite_sequence" not in line]
    finally:
        conn.close()


# ------------------------------------------------------------------ imports
BAD_CELLS = [
    # (file, text, expected "line: field: problem")
    ("posts", f"id,taken_at,like_count\n20,{NOW},{10**30}\n", ":2: like_count: "),
    ("posts", f"id,taken_at,comment_count\n20,{NOW},{2**63}\n", ":2: comment_count: "),
    ("posts", f"id,taken_at,like_count\n20,{NOW},-1\n", ":2: like_count: "),
    ("posts", f"id,taken_at,like_count\n20,{NOW},{2**31}\n", ":2: like_count: "),
    ("posts", "id,taken_at\n20,99999999999999\n", ":2: taken_at: 99999999999999 is after"),
    ("posts", "id,taken_at\n20,9999-12-31\n", ":2: taken_at: "),
    ("posts", "id,taken_at\n20,1969-07-20\n", ":2: taken_at: -14256000 is before 1970-01-01"),
    ("posts", f"id,taken_at\n20,{NOW + 2 * 86400}\n", ":2: taken_at: "),
    ("posts", f"id,taken_at,caption\n20,{NOW},a\x00b\n", ":2: caption: NUL byte"),
    ("posts", f"id,taken_at,image\n20,{NOW},../../etc/passwd\n", ":2: image: "),
    ("posts", f"id,taken_at,image\n20,{NOW},javascript:alert(1)\n", ":2: image: "),
    ("interactions", f"user,post,kind,created_at\n1,10,like,{10**20}\n", ":2: created_at: "),
    ("interactions", f"user,post,kind,created_at,value\n1,10,like,{NOW},1e39\n", ":2: value: "),
    ("follows", f"src,dst,created_at\n1,2,{-(10**15)}\n", ":2: created_at: "),
    ("accounts", "id,handle\n30,ana bo\n", ":2: handle: "),
    ("accounts", "id,handle\n30,\u202egnp.exe\n", ":2: handle: "),
    ("accounts", "id,handle\n30,x\x00y\n", ":2: handle: "),
    ("accounts", "id,handle\n30,..\n", ":2: handle: "),
    ("accounts", f"id,handle,display_name\n30,zed,{'x' * 201}\n", ":2: display_name: 201 char"),
]


@pytest.mark.parametrize(("kind", "text", "message"), BAD_CELLS)
def test_a_hostile_cell_is_a_file_line_field_error_and_nothing_is_written(
    tmp_path: Path, world: Path, kind: str, text: str, message: str
) -> None:
    before = dump(world)
    paths = write_files(tmp_path / "bad", **{kind: text})
    with Store.open(world) as store, pytest.raises(InputError) as err:
        import_csv(store, **paths)
    assert str(err.value).startswith(f"{paths[kind]}{message}"), str(err.value)
    assert "\n" not in str(err.value) and len(str(err.value)) < 300
    assert dump(world) == before


def test_ids_beyond_int64_in_a_file_are_keys(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, world: Path
) -> None:
    """Post id, author, account id and follow end of 2**63 and more: the issue's OverflowError.
    File ids are the source's keys (csv:<id>); the store maps them to small internal ids."""
    big = [str(2**63), str(2**64), str(10**30)]
    paths = write_files(
        tmp_path / "big",
        accounts=f"id,handle\n{big[0]},huge\n",
        follows=f"src,dst\n1,{big[0]}\n{big[1]},1\n",
        posts=f"id,author,taken_at,caption\n{big[2]},{big[0]},{NOW - HOUR},huge post #hiking\n",
        interactions=f"user,post,kind,created_at\n{big[1]},{big[2]},like,{NOW - 60}\n",
    )
    argv = ["--db", str(world), "import", "csv", *(f"--{k}={v}" for k, v in paths.items())]
    code, _, err = run(capsys, *argv)
    assert (code, err) == (0, ""), err
    ids = sql(world, "SELECT MAX(id) FROM accounts UNION ALL SELECT MAX(id) FROM posts")
    assert all(i < 100 for (i,) in ids)
    assert sql(world, "SELECT handle FROM accounts WHERE ext_key = ?", (f"csv:{big[1]}",)) == [
        (big[1],)
    ]
    before = dump(world)
    assert run(capsys, *argv)[0] == 0
    assert dump(world) == before  # the same keys: the same rows
    code, out, err = run(capsys, "--db", str(world), "feed", "ana", "--kind", "timeline", "--json")
    assert (code, err) == (0, "") and "huge post" in out


def test_a_ten_megabyte_caption_is_one_line_and_changes_nothing(
    tmp_path: Path, world: Path
) -> None:
    before = dump(world)
    paths = write_files(tmp_path / "big", posts=f"id,taken_at,caption\n20,{NOW},{'x' * 10**7}\n")
    with Store.open(world) as store, pytest.raises(InputError) as err:
        import_csv(store, **paths)
    assert str(err.value).startswith(f"{paths['posts']}:2: ")
    assert len(str(err.value)) < 300
    assert dump(world) == before


def test_a_caption_just_over_the_limit(tmp_path: Path, world: Path) -> None:
    paths = write_files(tmp_path / "c", posts=f"id,taken_at,caption\n20,{NOW},{'x' * 20_001}\n")
    with Store.open(world) as store, pytest.raises(InputError, match=r":2: caption: 20,001 char"):
        import_csv(store, **paths)


def test_historic_dates_need_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, world: Path
) -> None:
    paths = write_files(tmp_path / "h", posts="id,author,taken_at\n40,1,1969-07-20T20:17:00Z\n")
    argv = ["--db", str(world), "import", "csv", "--posts", str(paths["posts"])]
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert err.startswith(f"error: {paths['posts']}:2: taken_at: ") and err.count("\n") == 1
    code, out, err = run(capsys, *argv, "--allow-historic")
    assert (code, err) == (0, ""), err
    assert "1969-07-20T20:17:00Z" in out  # the summary's time span prints
    # The flag never admits the future: one post in 9999 would become the engine's "now".
    paths = write_files(tmp_path / "f", posts="id,author,taken_at\n41,1,9999-12-31\n")
    code, _, err = run(
        capsys, "--db", str(world), "import", "csv", "--posts", str(paths["posts"]),
        "--allow-historic",
    )  # fmt: skip
    assert code == 1 and ":2: taken_at: " in err


def test_the_cli_reports_an_overflowing_count_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, world: Path
) -> None:
    before = dump(world)
    paths = write_files(tmp_path / "o", posts=f"id,taken_at,like_count\n50,{NOW},{10**30}\n")
    code, out, err = run(
        capsys, "--db", str(world), "import", "csv", "--posts", str(paths["posts"])
    )
    assert code == 1 and out == ""
    assert err.startswith(f"error: {paths['posts']}:2: like_count: ") and err.count("\n") == 1
    assert "Traceback" not in err and "OverflowError" not in err
    assert dump(world) == before


def test_reimporting_the_same_files_changes_nothing(tmp_path: Path, world: Path) -> None:
    before = dump(world)
    with Store.open(world) as store:
        counter = store.change_counter
        import_csv(store, **world_files(tmp_path / "files"))
        assert store.change_counter == counter
    assert dump(world) == before


# ------------------------------------------------------------------ HTTP and pages
@pytest.mark.parametrize("bad", ["99999999999999999999999", "-5", "9223372036854775808", "x"])
def test_pages_and_api_validate_post_ids_alike(client: TestClient, bad: str) -> None:
    api = client.get(f"/v1/posts/{bad}")
    page = client.get(f"/p/{bad}")
    assert api.status_code == 422, api.text
    assert page.status_code == api.status_code, page.text
    for r in (client.get(f"/v1/posts/{bad}/similar"), client.get(f"/v1/users/ana/explain/{bad}")):
        assert r.status_code == 422


def test_an_unknown_post_id_is_404_on_both(client: TestClient) -> None:
    assert client.get("/v1/posts/9223372036854775807").status_code == 404
    assert client.get("/p/9223372036854775807").status_code == 404


ACCOUNT_PAGES = ["", "/explore", "/timeline", "/interests", "/network", "/tune"]
ACCOUNT_API = ["/feed", "/feed?kind=explore", "/interests", "/graph", "/settings"]


@pytest.mark.parametrize("handle", [SLASH, BRACKETS, MARKUP])
def test_every_route_of_an_odd_handle_is_reachable(
    client: TestClient, world: Path, handle: str
) -> None:
    h = quote(handle, safe="")
    for suffix in ACCOUNT_PAGES:
        r = client.get(f"/u/{h}{suffix}")
        assert r.status_code == 200, (suffix, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
    for suffix in ACCOUNT_API:
        r = client.get(f"/v1/users/{h}{suffix}")
        assert r.status_code == 200, (suffix, r.text[:300])
        assert r.json().get("user", r.json().get("center", handle)) == handle
    pid = post_id(world, "bo post")
    assert client.get(f"/v1/users/{h}/explain/{pid}").status_code == 200
    assert client.get(f"/p/{pid}?u={h}").status_code == 200
    r = client.put(f"/v1/users/{h}/settings", json={"w_recency": 0.5})
    assert r.status_code == 200 and r.json()["saved"] == {"w_recency": 0.5}
    r = client.post(
        f"/u/{h}/tune",
        data={"w_recency": "0.25"},
        headers={"origin": "http://testserver"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/u/{h}/tune?saved=1"


def test_links_to_an_odd_handle_are_percent_encoded(client: TestClient) -> None:
    html = client.get("/u/ana/timeline").text
    assert f'href="/u/{quote(SLASH, safe="")}/network"' in html
    assert f'href="/u/{quote(MARKUP, safe="")}/network"' in html
    html = client.get(f"/u/{quote(SLASH, safe='')}/explore").text
    assert f"/v1/users/{quote(SLASH, safe='')}/feed?kind=explore" in html  # the JSON twin


def test_a_handle_ending_like_a_page_name(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    files = write_files(
        tmp_path / "f",
        accounts="id,handle\n1,x/timeline\n2,x\n3,y\n",
        follows="src,dst\n1,3\n2,3\n",
        posts=f"id,author,taken_at,caption\n9,3,{NOW - HOUR},hello #hi\n",
    )
    with Store.open(db) as store:
        import_csv(store, **files)
    with client_for(db) as c:
        h = quote("x/timeline", safe="")
        assert c.get(f"/v1/users/{h}/feed").json()["user"] == "x/timeline"
        assert c.get(f"/u/{h}/explore").status_code == 200
        assert c.get(f"/u/{h}/timeline").status_code == 200
        assert c.get("/v1/users/x/feed").json()["user"] == "x"


def poison_display(db: Path) -> None:
    """Text the importer refuses but an existing database may hold: a bidi override in a handle
    ("liked by @<RLO>gnp.exe" reads "exe.png"), NUL and escape sequences in a caption."""
    sql(db, "UPDATE accounts SET handle = ? WHERE handle = ?", ("\u202egnp.exe\u202c", MARKUP))
    sql(
        db,
        "UPDATE posts SET caption = ? WHERE caption LIKE 'slash post%'",
        ("nul\x00 and \x1b[31mred\u2066 #hiking",),
    )
    sql(db, "UPDATE accounts SET display_name = ? WHERE handle = 'bo'", ("\u202eoB",))


UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def test_bidi_and_control_characters_are_neutralised_in_html(world: Path) -> None:
    poison_display(world)
    with client_for(world) as c:
        pages = {
            p: c.get(p)
            for p in (
                "/u/ana/timeline",
                "/u/ana/explore",
                "/u/ana/network",
                "/u/ana/interests",
                f"/p/{post_id(world, 'nul')}?u=ana",
            )
        }
        for path, r in pages.items():
            assert r.status_code == 200, (path, r.text[:300])
            assert not UNSAFE.search(r.text), (path, UNSAFE.search(r.text))
        timeline = pages["/u/ana/timeline"].text
        assert "@\\u202egnp.exe\\u202c" in timeline
        assert "nul\\x00 and \\x1b[31mred\\u2066 #hiking" in timeline
        # JSON is data: the API returns the stored values as they are.
        feed = c.get("/v1/users/ana/feed?kind=timeline&limit=50").json()
        assert "\u202egnp.exe\u202c" in {item["author"] for item in feed["items"]}
        # ... but the reason is a display string ("from @..., whom you follow")
        reasons = " ".join(item["reason"] for item in feed["items"])
        assert "@\\u202egnp.exe\\u202c" in reasons and not UNSAFE.search(reasons)


# ------------------------------------------------------------------ CLI
def test_handles_print_literally_in_feed_and_explain(
    capsys: pytest.CaptureFixture[str], world: Path, wide: None
) -> None:
    code, out, err = run(capsys, "--db", str(world), "feed", "ana", "--kind", "timeline")
    assert (code, err) == (0, ""), err
    assert f"@{BRACKETS}" in out and f"@{MARKUP}" in out and f"@{SLASH}" in out
    for handle in (BRACKETS, MARKUP, SLASH):
        code, out, err = run(capsys, "--db", str(world), "feed", handle)
        assert (code, err) == (0, ""), err
        assert f"for @{handle} " in out
    pid = post_id(world, "bo post")
    code, out, err = run(capsys, "--db", str(world), "explain", BRACKETS, str(pid))
    assert (code, err) == (0, ""), err
    assert f"for @{BRACKETS}" in out
    code, out, err = run(
        capsys, "--db", str(world), "explain", "ana", str(post_id(world, "markup"))
    )
    assert (code, err) == (0, ""), err
    assert f"by @{MARKUP} for @ana" in out
    code, out, err = run(capsys, "--db", str(world), "interests", MARKUP)
    assert code == 0 and f"interests of @{MARKUP}" in out


def test_the_cli_neutralises_control_characters(
    capsys: pytest.CaptureFixture[str], world: Path, wide: None
) -> None:
    poison_display(world)
    code, out, err = run(capsys, "--db", str(world), "feed", "ana", "--kind", "timeline")
    assert (code, err) == (0, ""), err
    assert "@\\u202egnp.exe\\u202c" in out
    assert not UNSAFE.search(out)


def test_cli_post_ids_out_of_range_are_one_line(
    capsys: pytest.CaptureFixture[str], world: Path
) -> None:
    for bad in ("99999999999999999999999", "-5"):
        code, _, err = run(capsys, "--db", str(world), "explain", "ana", "--", bad)
        assert code != 0 and err.count("\n") == 1, err
        assert "Traceback" not in err


# ------------------------------------------------------------------ doctor
def poison(db: Path) -> None:
    """What an older importer (or a hand-edited file) left behind: issue 10's own examples."""
    sql(db, "UPDATE posts SET taken_at = 99999999999999 WHERE caption LIKE 'cy post%'")
    sql(
        db,
        "UPDATE posts SET like_count = ? WHERE caption LIKE 'bo post%'",
        ("1000000000000000000000000000000",),  # SQLite keeps it as the float 1e30
    )
    sql(db, "UPDATE posts SET comment_count = 'lots' WHERE caption LIKE 'brackets%'")
    sql(db, "UPDATE posts SET caption = ? WHERE caption LIKE 'ana post%'", ("nul\x00 #hiking",))
    sql(db, "INSERT INTO follows (src, dst, created_at, seq) VALUES (1, 777, 0, 1)")
    sql(db, "UPDATE meta SET value = '99999999999999' WHERE key = 'now'")


def attempt(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """:func:`run`, with an uncaught exception as exit code 99 (how the poisoned database
    fails is the loader's business; that it fails, and works after the doctor, is tested)."""
    try:
        return run(capsys, *argv)
    except Exception as exc:
        capsys.readouterr()
        return 99, "", repr(exc)


def test_doctor_quarantines_what_stops_info_and_feed(
    capsys: pytest.CaptureFixture[str], world: Path, wide: None
) -> None:
    db = str(world)
    code, out, err = run(capsys, "--db", db, "doctor")
    assert (code, err) == (0, "") and "no problem found" in out
    poison(world)
    broken = [attempt(capsys, "--db", db, "info"), attempt(capsys, "--db", db, "feed", "ana")]
    assert all(code != 0 for code, _, _ in broken), broken

    before = dump(world)
    code, out, err = run(capsys, "--db", db, "doctor")
    assert code == 1 and err == ""
    assert dump(world) == before  # a report changes nothing
    report = out
    for expected in (
        "taken_at outside year 1",
        "like_count outside 0 … 2**31-1",
        "comment_count outside 0 … 2**31-1",
        "caption: NUL byte",
        "dst refers to a missing row of accounts",
        "meta (key='now'",
        "run `discovery doctor --fix`",
    ):
        assert expected in report, (expected, report)

    code, out, err = run(capsys, "--db", db, "doctor", "--fix")
    assert (code, err) == (0, ""), err
    assert "moved to the quarantine table" in out
    reasons = sql(world, "SELECT table_name, reason, row_json FROM quarantine")
    tables = Counter(t for t, _, _ in reasons)
    assert (tables["posts"], tables["follows"], tables["meta"]) == (4, 1, 1), reasons
    # the likes and hashtag links of the moved posts went with them (and only those)
    assert set(tables) == {"posts", "follows", "meta", "interactions", "post_hashtags"}
    assert all("missing row of posts" in r for t, r, _ in reasons if t == "interactions")
    assert any('"taken_at": 99999999999999' in row for _, _, row in reasons)
    assert any("\\u0000" in row for _, _, row in reasons)  # the NUL kept, as a JSON escape
    assert int(sql(world, "SELECT value FROM meta WHERE key = 'now'")[0][0]) < NOW + 86_400

    for argv in (["info"], ["feed", "ana"], ["feed", "ana", "--kind", "timeline"], ["doctor"]):
        code, out, err = run(capsys, "--db", db, *argv)
        assert (code, err) == (0, ""), (argv, err)
    assert "no problem found" in out
    with client_for(world) as c:
        assert c.get("/v1/users/ana/feed").status_code == 200
        assert c.get("/u/ana/explore").status_code == 200
        assert c.get(f"/p/{post_id(world, 'slash')}").status_code == 200


def test_doctor_moves_the_dependents_of_a_bad_account(
    capsys: pytest.CaptureFixture[str], world: Path
) -> None:
    sql(world, "UPDATE accounts SET handle = ? WHERE handle = 'cy'", ("c\u202ey",))
    code, _, _ = run(capsys, "--db", str(world), "doctor", "--fix")
    assert code == 0
    moved = sql(world, "SELECT table_name, reason FROM quarantine ORDER BY table_name")
    assert (
        "accounts",
        "handle: 'c\\u202ey' contains a control or format character (U+202E)",
    ) in moved
    # cy's post, its follows both ways and the like on its post went with it
    assert {t for t, _ in moved} >= {"accounts", "posts", "follows", "interactions"}
    assert sql(world, "SELECT COUNT(*) FROM posts WHERE caption LIKE 'cy post%'") == [(0,)]
    code, _, err = run(capsys, "--db", str(world), "feed", "ana")
    assert (code, err) == (0, ""), err
