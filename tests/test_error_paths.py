"""Error paths a person meets: a read-only or missing database, odd requests, a busy port, files
from the real world (Ctrl-C is tests/test_cli_interrupt.py). Where the behaviour belongs to a
process (a socket) the test runs one."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_run import run_cli as run
from discovery.service import create_app
from discovery.store import INTERACTION_KINDS, ReadOnly, Store, is_read_only
from worlds import build_known_world

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

CLI = [sys.executable, "-m", "discovery"]


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip() and "━" not in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "known.db"
    build_known_world(path).close()
    return path


@pytest.fixture
def client(db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as c:
        yield c


# Ctrl-C: tests/test_cli_interrupt.py.


# ------------------------------------------------------------------- read-only databases
@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every SQLite store opens its file with SQLite's own ``mode=ro``, a read-only database
    even for root (who ignores file permissions, as the suite does in CI)."""
    import discovery.store.sqlite as backend

    plain = backend._connect

    def connect(target: str, *, wal: bool) -> sqlite3.Connection:
        if target.startswith("file:") or target == ":memory:":
            return plain(target, wal=wal)
        return plain(f"{Path(target).resolve().as_uri()}?mode=ro", wal=False)

    monkeypatch.setattr(backend, "_connect", connect)


def test_read_only_database_reads_work_and_writes_are_503(db: Path, read_only: None) -> None:
    with TestClient(create_app(db)) as c:
        assert c.get("/v1/users/me/feed").status_code == 200
        assert c.get("/healthz").status_code == 200
        r = c.post("/v1/events", json={"id": "e1", "user": "me", "kind": "like", "post": 301})
        assert r.status_code == 503, r.text
        assert "database is read-only" in r.json()["detail"]
        r = c.put("/v1/users/me/settings", json={"w_recency": 0.5})
        assert r.status_code == 503, r.text
        assert c.get("/v1/users/me/feed").status_code == 200  # and the server still answers


def test_read_only_database_in_the_cli(
    capsys: pytest.CaptureFixture[str], db: Path, read_only: None
) -> None:
    code, out, err = run(capsys, "--db", str(db), "info", "--json")
    assert code == 0 and '"accounts": 8' in out
    code, out, err = run(capsys, "--db", str(db), "feed", "me")
    assert code == 0
    code, _, err = run(capsys, "--db", str(db), "like", "me", "301")
    assert code == 1 and "database is read-only" in one_line(err)
    code, _, err = run(capsys, "--db", str(db), "clock", "wall")  # a write outside a transaction
    assert code == 1 and "database is read-only" in one_line(err)


def test_sqlites_read_only_error_maps_to_503(client: TestClient, monkeypatch: Any) -> None:
    """SQLite's own error, wherever it surfaces, is a 503 (not a 500, nor "not a database")."""
    from discovery.store.sqlite import SqliteStore

    def refuse(self: Any) -> Any:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(SqliteStore, "_write_tx", refuse)
    r = client.post("/v1/events", json={"id": "e1", "user": "me", "kind": "like", "post": 301})
    assert r.status_code == 503 and "database is read-only" in r.json()["detail"]
    assert is_read_only(ReadOnly("x")) and not is_read_only(sqlite3.OperationalError("locked"))


def _chattr(flag: str, *paths: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True)
    return done.returncode == 0


def test_read_only_folder(tmp_path: Path) -> None:
    """A database in a folder nobody may write (immutable: even root cannot), so SQLite cannot
    make its ``-shm`` file: reads work, writes say the database is read-only."""
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "k.db"
    build_known_world(db).close()
    if not _chattr("+i", folder):
        pytest.skip("chattr +i is not permitted here (needs CAP_LINUX_IMMUTABLE)")
    try:
        base = [*CLI, "--db", str(db)]
        feed = subprocess.run([*base, "feed", "me"], capture_output=True, text=True)
        assert feed.returncode == 0, feed.stderr
        like = subprocess.run([*base, "like", "me", "301"], capture_output=True, text=True)
        assert like.returncode == 1 and "database is read-only" in one_line(like.stderr)
        get = subprocess.run([*base, "serve", "--get", "/v1/users/me/feed"], capture_output=True)
        assert get.returncode == 0, get.stderr
    finally:
        _chattr("-i", folder)


def test_missing_folder_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "nowhere" / "k.db")
    follows = tmp_path / "f.csv"
    follows.write_text("src,dst\na,b\n")
    for argv in (["info"], ["import", "csv", "--follows", str(follows)]):
        code, _, err = run(capsys, "--db", db, *argv)
        assert code == 1
        assert f"no such folder {str(tmp_path / 'nowhere')!r}" in one_line(err)


# ---------------------------------------------------------------------------- requests
def test_very_long_media_name_is_404(client: TestClient) -> None:
    for name in ("a" * 5000, "a" * 300 + ".jpg", "x/" * 2000 + "y.jpg"):
        assert client.get(f"/media/{name}").status_code == 404


def test_an_unhandled_error_never_reaches_the_server(db: Path, monkeypatch: Any) -> None:
    """A 500 is answered by the app itself: an exception reaching uvicorn makes it close the
    connection, and a keep-alive client's next request fails (TestClient re-raises it)."""
    import discovery.service.views as views

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(views, "health_view", broken)
    with TestClient(create_app(db), raise_server_exceptions=True) as c:
        r = c.get("/healthz")
        assert (r.status_code, r.json()) == (500, {"detail": "internal server error"})
        assert r.headers["x-content-type-options"] == "nosniff"
        assert c.get("/v1/users/me/feed").status_code == 200


def test_undecodable_json_is_400_with_errors(client: TestClient) -> None:
    for body in (b'{"id": "x", ', b"\xff\xfe", b"[1, 2"):
        r = client.post("/v1/events", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text
        out = r.json()
        assert out["detail"].startswith("body: not valid JSON")
        assert out["errors"] and out["errors"][0]["where"] == "body"


def test_json_sent_as_text_plain_names_the_content_type(client: TestClient) -> None:
    body = b'{"id": "e1", "user": "me", "kind": "like", "post": 301}'
    r = client.post("/v1/events", content=body, headers={"content-type": "text/plain"})
    assert r.status_code == 415, r.text
    assert "text/plain" in r.json()["detail"] and "application/json" in r.json()["detail"]
    assert r.json()["errors"][0]["where"] == "body"


@pytest.mark.parametrize("bad", [True, "0.5", False])
def test_booleans_and_strings_are_not_numbers(client: TestClient, bad: Any) -> None:
    event = {"id": "e1", "user": "me", "kind": "view", "post": 301, "value": bad}
    r = client.post("/v1/events", json=event)
    assert (r.status_code, r.json()["errors"][0]["where"]) == (422, "body.value"), r.text
    r = client.post("/v1/events", json={"id": "e2", "user": "me", "kind": "like", "post": bad})
    assert (r.status_code, r.json()["errors"][0]["where"]) == (422, "body.post"), r.text
    r = client.put("/v1/users/me/settings", json={"w_recency": bad})
    assert (r.status_code, r.json()["errors"][0]["where"]) == (422, "body.w_recency"), r.text
    r = client.get("/v1/users/me/feed", params={"limit": str(bad).lower()})
    assert (r.status_code, r.json()["errors"][0]["where"]) == (422, "query.limit"), r.text
    # numbers still are: an integer value, a float weight, a post id from a page's form
    ok = {"id": "e3", "user": "me", "kind": "view", "post": 301, "value": 1}
    assert client.post("/v1/events", json=ok).status_code == 200
    assert client.put("/v1/users/me/settings", json={"w_recency": 1}).status_code == 200
    assert client.get("/v1/users/me/feed", params={"w_recency": "0.5"}).status_code == 200


# ------------------------------------------------------------------------------- serve
def test_serve_on_a_busy_port_is_one_line_before_any_banner(db: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*CLI, "--db", str(db), "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "200"},
        )
    assert done.returncode == 1 and done.stdout == ""
    assert f"port {port} is in use" in one_line(done.stderr)
    assert "http://" not in done.stderr


@pytest.mark.parametrize("value", ["0", "-5", str(2**63), "soon"])
def test_a_bad_worker_healthcheck_is_refused_before_anything_starts(db: Path, value: str) -> None:
    """0, negative, 2^63 (uvicorn's ping would overflow) and text: a usage error naming the
    option, exit 2, no banner, no traceback."""
    done = subprocess.run(
        [*CLI, "--db", str(db), "serve", "--workers", "2", "--worker-healthcheck", value],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "--worker-healthcheck" in done.stderr and "Traceback" not in done.stderr
    assert "http://" not in done.stderr


# --------------------------------------------------------------- real-world files to import
CIAO = {
    "interactions": {
        "columns": ["userID", "movieID", "genreID", "reviewID", "rating", "date"],
        "user": "userID",
        "post": "movieID",
        "created_at": "date",
        "value": "rating",
        "kind": {"column": "rating", "rules": [[">=", 4, "like"], [None, None, "view"]]},
        "create_posts": True,
    }
}
#: CiaoDVD's movie-ratings.txt, as it comes: no header, ids by position, text ids too.
RATINGS = "1,101,3,9001,5,2011-01-02\n1,102,3,9002,2,2011-01-03\n2,101,3,9003,4,2011-02-01\nu-7,103,5,9004,1,2012-05-05\n"


def test_ciao_dvd_style_ratings_in_one_import(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import json

    ratings, mapping = tmp_path / "movie-ratings.txt", tmp_path / "ciao.json"
    ratings.write_text(RATINGS)
    mapping.write_text(json.dumps(CIAO, indent=1))
    db = tmp_path / "c.db"
    argv = ["--db", str(db), "import", "csv", "--interactions", str(ratings)]
    code, out, err = run(capsys, *argv, "--mapping", str(mapping))
    assert (code, err) == (0, ""), err
    assert "posts (referenced, not listed)" in out
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT a.handle, i.kind, i.value, p.like_count FROM interactions i"
            " JOIN accounts a ON a.id = i.account JOIN posts p ON p.id = i.post"
            " ORDER BY i.created_at"
        ).fetchall()
    with Store.open(db, create=False) as s:
        movies = s.ids_for_keys("posts", ["csv:101", "csv:102", "csv:103"])
    kinds = dict(enumerate(INTERACTION_KINDS))
    assert [(h, kinds[k], v) for h, k, v, _ in rows] == [
        ("1", "like", 5.0),  # rating >= 4: a like
        ("1", "view", 2.0),  # otherwise a view
        ("2", "like", 4.0),
        ("u-7", "view", 1.0),  # a text id is a handle too
    ]
    assert rows[0][3] == 2 and len(movies) == 3  # movie 101 liked twice, each movie a post
    # the same files again change nothing
    code, out, err = run(capsys, *argv, "--mapping", str(mapping))
    assert code == 0
    with Store.open(db, create=False) as s:
        assert (s.count("interactions"), s.count("posts")) == (4, 3)


def test_without_create_posts_an_unknown_post_says_how(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import json

    ratings, mapping = tmp_path / "r.txt", tmp_path / "m.json"
    ratings.write_text(RATINGS)
    mapping.write_text(
        json.dumps({"interactions": {**CIAO["interactions"], "create_posts": False}})
    )
    code, _, err = run(
        capsys,
        "--db",
        str(tmp_path / "c.db"),
        "import",
        "csv",
        "--interactions",
        str(ratings),
        "--mapping",
        str(mapping),
    )
    assert code == 1 and f"{ratings}:1: post 101" in one_line(err) and "create_posts" in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"columns": ["a", "a"]}, "interactions.columns: 'a' is listed twice"),
        ({"columns": "a,b"}, "interactions.columns: expected a list of column names"),
        ({"kind": {"column": "rating", "rules": [["~", 4, "like"]]}}, "unknown op '~'"),
        ({"kind": {"column": "rating", "rules": [["<", "4", "like"]]}}, "< compares numbers"),
        ({"kind": {"column": "rating", "rules": [[">=", 4, "love"]]}}, "'love' is not one of"),
        ({"kind": {"column": "stars", "rules": [[None, None, "like"]]}}, "'stars' is not one of"),
        ({"create_posts": "yes"}, "interactions.create_posts: expected true or false"),
    ],
)
def test_a_bad_mapping_names_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, change: dict, message: str
) -> None:
    import json

    ratings, mapping = tmp_path / "r.txt", tmp_path / "m.json"
    ratings.write_text(RATINGS)
    body = {"interactions": {**CIAO["interactions"], **change}}
    text = json.dumps(body, indent=1)
    mapping.write_text(text)
    key = next(iter(change))
    line = next(i for i, s in enumerate(text.splitlines(), 1) if f'"{key}":' in s)
    code, _, err = run(
        capsys,
        "--db",
        str(tmp_path / "c.db"),
        "import",
        "csv",
        "--interactions",
        str(ratings),
        "--mapping",
        str(mapping),
    )
    assert code == 1 and one_line(err).startswith(f"error: {mapping}:{line}: "), err
    assert message in err
    assert not (tmp_path / "c.db").exists()  # refused before a database is made


def test_a_derived_field_with_no_matching_rule_is_a_bad_row(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import json

    ratings, mapping = tmp_path / "r.txt", tmp_path / "m.json"
    ratings.write_text(RATINGS + "3,104,1,9005,,2012-06-01\n")
    rules = [[">=", 4, "like"], ["<", 4, "view"]]
    body = {
        "interactions": {
            **CIAO["interactions"],
            "value": None,
            "kind": {"column": "rating", "rules": rules},
        }
    }
    mapping.write_text(json.dumps(body))
    code, _, err = run(
        capsys,
        "--db",
        str(tmp_path / "c.db"),
        "import",
        "csv",
        "--interactions",
        str(ratings),
        "--mapping",
        str(mapping),
    )
    assert code == 1 and f"{ratings}:5: rating:" in one_line(err), err
