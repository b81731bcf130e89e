"""Every ranking setting can be set per request from the CLI, the API, the pages and `serve`
(issue 15, section 2), validated against discovery.settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from discovery.cli import app as cli
from discovery.service import create_app
from discovery.settings import Settings
from worlds import build_known_world


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "k.db"
    build_known_world(path).close()
    return path


def cli_ids(db: Path, *extra: str) -> list[int]:
    r = CliRunner().invoke(
        cli, ["--db", str(db), "feed", "me", "--kind", "timeline", "--json", *extra]
    )
    assert r.exit_code == 0, (r.output, r.exception)
    return [i["post_id"] for i in json.loads(r.output)["items"]]


def test_window_days_from_the_cli_reaches_older_posts(db: Path) -> None:
    assert 401 not in cli_ids(db)  # ten days old: outside the default 7-day window
    assert 102 not in cli_ids(db, "--set", "window_days=3")  # five days old
    assert {102, 401} <= set(cli_ids(db, "--set", "window_days=30"))


def test_bad_assignments_are_one_line(db: Path) -> None:
    for bad, message in (
        ("window_days=0", "between 0.5"),
        ("nosuch=1", "unknown setting"),
        ("window_days", "expected NAME=VALUE"),
        ("ppr_mode=magic", "expected one of"),
        ("hide_cost=nan", "between 0.0 and 100.0"),
        ("hide_cost=1e999", "between 0.0 and 100.0"),
        ("hide_cost=-1", "between 0.0 and 100.0"),
        ("hide_cost=" + "9" * 10_000, "between 0.0 and 100.0"),
        ("hide_cost=\u202e2", "expected a float"),
        ("learned_explore_scale=2.5", "between 0.0 and 2.0"),
        ("learned_explore_scale=-inf", "between 0.0 and 2.0"),
        ("learned_explore_scale=<b>1</b>", "expected a float"),
    ):
        r = CliRunner().invoke(cli, ["--db", str(db), "feed", "me", "--set", bad])
        assert r.exit_code == 1 and message in str(r.exception), bad


def test_the_api_and_the_page_take_the_same_assignments(db: Path) -> None:
    with TestClient(create_app(db)) as c:
        url = "/v1/users/me/feed?kind=timeline&limit=30"
        narrow = [i["post_id"] for i in c.get(url).json()["items"]]
        wide = [i["post_id"] for i in c.get(f"{url}&set=window_days=30").json()["items"]]
        assert 401 not in narrow and 401 in wide
        assert c.get(f"{url}&set=window_days=0").status_code in (400, 422)
        assert "/p/401" not in c.get("/u/me/timeline").text
        page = c.get("/u/me/timeline?set=window_days=30")
        assert page.status_code == 200 and "/p/401" in page.text


def test_serve_applies_its_settings_to_every_request(db: Path) -> None:
    with TestClient(create_app(db, settings=Settings().replace(window_days=30))) as c:
        ids = [
            i["post_id"] for i in c.get("/v1/users/me/feed?kind=timeline&limit=30").json()["items"]
        ]
        assert 401 in ids
    r = CliRunner().invoke(
        cli,
        [
            "--db",
            str(db),
            "serve",
            "--set",
            "window_days=30",
            "--get",
            "/v1/users/me/feed?kind=timeline&limit=30",
        ],
    )
    assert r.exit_code == 0, (r.output, r.exception)
    assert '"post_id":401' in r.output.replace(" ", "")


def test_the_author_discount_reorders_only_and_refuses_hostile_values(db: Path) -> None:
    base = cli_ids(db)
    assert cli_ids(db, "--set", "author_discount=1") == base  # 1 is off
    assert sorted(cli_ids(db, "--set", "author_discount=0.05")) == sorted(base)  # order only
    for bad in ("0", "nan", "inf", "1e400", str(2**63), "-1", "abc", "x" * 10_000_000):
        r = CliRunner().invoke(
            cli, ["--db", str(db), "feed", "me", "--set", f"author_discount={bad}"]
        )
        assert r.exit_code == 1 and "author_discount" in str(r.exception), bad[:20]
    with TestClient(create_app(db)) as c:
        url = "/v1/users/me/feed?kind=timeline"
        for bad in ("0", "nan", "1e400", str(2**63), "%E2%80%AE<b>"):
            r = c.get(f"{url}&set=author_discount={bad}")
            assert r.status_code == 422 and "author_discount" in r.text, bad
        assert [i["post_id"] for i in c.get(url).json()["items"]] == base  # the database unharmed
