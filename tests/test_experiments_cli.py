"""``discovery experiment``: the CLI twin of /v1/experiments (same report dict), and every bad
input as one line on stderr."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from cli_run import run_cli as run
from discovery.service import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient


def test_create_serve_report_stop(capsys: pytest.CaptureFixture[str], known_db: Path) -> None:
    db = ("--db", str(known_db))
    code, _, err = run(capsys, *db, "experiment", "create", "ab", "--arms", "default,tutorial",
                       "--split", "30/70")  # fmt: skip
    assert code == 0 and "experiment ab started (ab): default (30 %), tutorial (70 %)" in err
    code, out, _ = run(capsys, *db, "experiment", "list", "--json")
    (listed,) = [json.loads(line) for line in out.splitlines()]
    assert (listed["name"], listed["split"], listed["running"]) == ("ab", [30, 70], True)
    with TestClient(create_app(known_db)) as client:
        for user in ("me", "ana", "bo", "cy"):
            client.get(f"/v1/users/{user}/feed?kind=explore&limit=3")
        first = client.get("/v1/users/me/feed?kind=explore&limit=3").json()["items"][0]
        client.post("/v1/events", json={"id": "x", "user": "me", "kind": "like",
                                         "post": first["post_id"]})  # fmt: skip
        api = client.get("/v1/experiments/ab").json()
    code, out, _ = run(capsys, *db, "experiment", "report", "ab", "--json")
    assert code == 0 and json.loads(out) == api  # the same dict, the same seeded intervals
    assert sum(m["impressions"] for m in api["metrics"]) == 15
    assert sum(m["engagements"] for m in api["metrics"]) == 1
    code, out, _ = run(capsys, *db, "experiment", "report", "ab")
    assert code == 0 and "default" in out and "tutorial" in out and "impressions" in out
    code, _, err = run(capsys, *db, "experiment", "stop", "ab")
    assert code == 0 and "experiment ab stopped" in err
    code, out, _ = run(capsys, *db, "experiment", "list", "--json")
    assert json.loads(out)["running"] is False


def test_interleaved_report_says_who_won(
    capsys: pytest.CaptureFixture[str], known_db: Path
) -> None:
    db = ("--db", str(known_db))
    run(capsys, *db, "experiment", "create", "il", "--arms", "default,tutorial", "--interleave")
    with TestClient(create_app(known_db)) as client:
        client.get("/v1/users/me/feed?kind=explore&limit=4")
    code, out, _ = run(capsys, *db, "experiment", "report", "il")
    assert code == 0
    assert "users preferring default: 0, tutorial: 0, ties: 1; sign test p = 1" in " ".join(
        out.split()
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "x", "--arms", "default,nope"], "arm 'nope': unknown ranker 'nope'"),
        (["create", "x", "--arms", "default,tutorial", "--split", "50/40"], "sum to 90, not 100"),
        (["create", "X!", "--arms", "default,tutorial"], "experiment name 'X!'"),
        (["create", "x", "--arms", "default"], "needs at least two arms"),
        (["create", "x", "--arms", "default,window_days=zz"], "window_days='zz'"),
        (["create", "run2", "--arms", "default,tutorial"], "experiment 'run1' is running"),
        (["report", "nope"], "no experiment named 'nope'"),
        (["stop", "nope"], "no experiment named 'nope'"),
    ],
)
def test_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], known_db: Path, args: list[str], message: str
) -> None:
    db = ("--db", str(known_db))
    assert run(capsys, *db, "experiment", "create", "run1", "--arms", "default,tutorial")[0] == 0
    code, out, err = run(capsys, *db, "experiment", *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and out == ""
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], err
