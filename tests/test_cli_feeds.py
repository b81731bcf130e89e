"""The feed commands as a person runs them: real processes, JSON on stdout, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run(db, *args):
    return subprocess.run(
        [sys.executable, "-m", "discovery", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_feed_json_shape_for_both_rankers(known_db):
    out = run(known_db, "feed", "me", "--kind", "timeline", "-k", "3", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["user"] == "me" and doc["kind"] == "timeline" and len(doc["items"]) == 3
    assert doc["now"] == "2023-11-14T22:13:20Z"
    out = run(known_db, "feed", "me", "--kind", "explore", "--ranker", "tutorial", "--json")
    items = json.loads(out.stdout)["items"]
    assert items and all(set(i["factors"]) == {"ppr", "weight", "time_score"} for i in items)
    assert all(i["author"] not in {"ana", "bo", "dan", "me"} for i in items)


def test_interests_and_explain_commands(known_db):
    doc = json.loads(run(known_db, "interests", "me", "--json").stdout)
    assert [i["tag"] for i in doc["interests"]][:2] == ["hiking", "climbing"]
    info = json.loads(run(known_db, "explain", "me", "301", "--json").stdout)
    assert info["sources"]["liked_by_followed"] == ["ana"]
    text = run(known_db, "explain", "me", "301").stdout
    assert "liked by @ana, whom you follow" in text and "affinity" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["feed", "nobody"], "no account with handle 'nobody'"),
        (["feed", "me", "--kind", "sideways"], "unknown feed kind 'sideways'"),
        (["feed", "me", "-k", "0"], "-k must be between 1 and 1000"),
        (["explain", "me", "424242"], "no post with id 424242"),
    ],
)
def test_bad_arguments_print_one_line(known_db, args, message):
    out = run(known_db, *args)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and out.stderr.startswith(f"error: {message}")


def test_missing_database_is_one_line(tmp_path):
    out = run(tmp_path / "absent.db", "feed", "me")
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "no such database" in out.stderr


def test_import_is_clean_and_lazy():
    code = (
        "import sys, discovery, discovery.engine, discovery.graph;"
        "assert 'numba' not in sys.modules, 'numba imported at import time';"
        "assert 'fastapi' not in sys.modules and 'matplotlib' not in sys.modules"
    )
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
