"""`discovery generate` and `discovery info` through the real entry point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_run import run_cli as run
from discovery.store import Store


def test_generate_then_info_json(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "w.db")
    code, out, _ = run(
        capsys, "--db", db, "generate", "--size", "tiny", "--no-images", "--seed", "3"
    )
    assert code == 0 and "accounts" in out
    code, out, err = run(capsys, "--db", db, "info", "--json")
    assert (code, err) == (0, "")
    body = json.loads(out)
    with Store.open(db, create=False) as s:
        assert body["accounts"] == s.count("accounts") == 312
        assert body["follows"] == s.count("follows")
        assert body["posts"] == s.count("posts")
        assert body["hashtags"] == s.count("hashtags")
        assert body["interactions"]["total"] == s.count("interactions")
        likes = s._fetch("SELECT COUNT(*) FROM interactions WHERE kind = 0")[0][0]
        first = s._fetch("SELECT MIN(taken_at) FROM posts")[0][0]
        max_in = s._fetch("SELECT MAX(c) FROM (SELECT COUNT(*) c FROM follows GROUP BY dst)")[0][0]
        mutual = s._fetch(
            "SELECT COUNT(*) FROM follows a JOIN follows b ON a.src = b.dst AND a.dst = b.src"
        )
    assert body["interactions"]["by_kind"]["like"] == likes
    assert sum(body["interactions"]["by_kind"].values()) == body["interactions"]["total"]
    assert body["time_span"]["first"].endswith("Z") and body["time_span"]["last"] < body["now"]
    from discovery.store import to_iso

    assert body["time_span"]["first"] == to_iso(first)
    g = body["graph"]
    assert g["max_in_degree"] == max_in
    assert g["reciprocity"] == pytest.approx(mutual[0][0] / body["follows"], abs=1e-4)
    assert g["clustering"] > 5 * g["clustering_random_graph"] and 0 < g["reciprocity"] < 1
    assert g["clustering_sampled_nodes"] is None
    assert body["world"] == {"generator": "world-1", "size": "tiny", "users": 300, "seed": 3}
    code, out, _ = run(capsys, "--db", db, "info")
    assert code == 0 and "clustering" in out and "reciprocity" in out


def test_refuses_to_overwrite_unless_forced(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "w.db")
    assert (
        run(capsys, "--db", db, "generate", "--size", "tiny", "--users", "30", "--no-images")[0]
        == 0
    )
    code, out, err = run(capsys, "--db", db, "generate", "--size", "tiny", "--no-images")
    assert code == 1 and out == ""
    assert err.strip().count("\n") == 0 and "already holds a world (42 accounts)" in err
    assert "--force" in err
    code, _, _ = run(capsys, "--db", db, "generate", "--size", "tiny", "--no-images", "--force")
    assert code == 0
    with Store.open(db, create=False) as s:
        assert s.count("accounts") == 312


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "--size", "huge"], "--size: unknown size 'huge'"),
        (["generate", "--users", "3"], "--users: 3 is out of range"),
        (["generate", "--photos", "/nonexistent/dir"], "photos.json not found"),
        (["info"], "no such database"),
        (["--db", "/nonexistent/dir/w.db", "generate"], "folder /nonexistent/dir does not exist"),
    ],
)
def test_bad_arguments_print_one_line(capsys, tmp_path: Path, args, message) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", str(tmp_path / "none.db"), *args)
    assert code != 0 and out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("error:")


def test_killed_generate_leaves_the_old_world(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    cli = [sys.executable, "-m", "discovery", "--db", str(db), "generate", "--no-images"]
    subprocess.run([*cli, "--size", "tiny", "--users", "30"], check=True, capture_output=True)
    proc = subprocess.Popen(
        [*cli, "--size", "demo", "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    tmp = Path(str(db) + ".tmp")
    deadline = time.time() + 60
    while not tmp.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)
    assert proc.poll() is None, "generate finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Store.open(db, create=False) as s:
        assert s.count("accounts") == 42  # the previous world, whole
    # The next run cleans up the leftovers and succeeds.
    subprocess.run([*cli, "--size", "tiny", "--force"], check=True, capture_output=True)
    assert not tmp.exists()
    with Store.open(db, create=False) as s:
        assert s.count("accounts") == 312
