"""Ctrl-C in a real ``discovery`` process: one line (``interrupted``), exit status 130, no
traceback, no ``*.tmp`` left, and the database exactly as it was, whenever the signal lands:
while Python loads the engine (the first second or two), while an import reads its files, while
it writes, while ``generate`` writes a new world or renders its images."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from discovery.store import Store
from instagram_exports import T0, Export
from worlds import build_known_world

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "discovery"]
#: Seconds after Python is up at which the signal is sent: from the first of our code through
#: the engine's imports (about 1-2 s on a loaded machine) into the command itself.
DELAYS = (0.2, 0.5, 1.0, 2.0, 3.0)


@pytest.fixture(scope="module")
def startup() -> float:
    """Seconds the interpreter takes to start (``site`` and its ``.pth`` files included) before
    any code of ours runs: an interrupt in that window is Python's own traceback, which no
    program can prevent, so the delays count from its end (the slowest of three starts, as
    the machine is loaded now)."""
    took = []
    for _ in range(3):
        t = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        took.append(time.monotonic() - t)
    return max(took)


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def dump(db: Path) -> list[str]:
    """Every committed row and schema statement of a SQLite database."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp") or ".tmp" in p.name)


def interrupt(cmd: list[str], *, at: float | None = None, once: Path | None = None) -> tuple:
    """Run ``cmd``; send SIGINT ``at`` seconds after its start, or 0.2 s after ``once`` exists;
    return (exit status, stderr, seconds it took to stop after the signal)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if once is not None:
        deadline = time.monotonic() + 120
        while not once.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        at = 0.2
    time.sleep(at or 0)
    if proc.poll() is not None:
        _, err = proc.communicate()
        raise AssertionError(f"finished ({proc.returncode}) before the signal: {err.decode()}")
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err.decode(errors="replace"), time.monotonic() - sent


# ----------------------------------------------------------------------------- inputs
# Each is big enough that its import still runs well past the last delay on an idle machine (about
# 8-12 s of CPU), so that every delay above lands inside the command. Sized again when faster
# imports (the sort-path set operations) brought Last.fm's down to 3.2 s and Instagram's to 4.5 s:
# a signal after the commit then found the new rows in place, "interrupted" notwithstanding.
def _big_csv(folder: Path) -> list[str]:
    follows = folder / "follows.csv"
    with follows.open("w") as f:
        f.write("src,dst\n")
        f.writelines(f"u{i},u{i + 1}\n" for i in range(150_000))
    return ["csv", "--follows", str(follows)]


def _lastfm_files(folder: Path, tagged: int, users: int = 2000) -> Path:
    """A Last.fm-2k-shaped folder: ``tagged`` tag assignments over ``tagged // 10`` artists."""
    artists = max(tagged // 10, 1)
    folder.mkdir()
    files = {
        "artists.dat": ["id\tname\turl\tpictureURL"]
        + [f"{a}\tArtist {a}\thttp://x/{a}\t" for a in range(1, artists + 1)],
        "tags.dat": ["tagID\ttagValue"] + [f"{t}\ttag{t}" for t in range(1, 501)],
        "user_friends.dat": ["userID\tfriendID"]
        + [f"{u}\t{u % users + 1}" for u in range(1, users + 1)],
        "user_taggedartists.dat": ["userID\tartistID\ttagID\tday\tmonth\tyear"]
        + [f"{i % users + 1}\t{i % artists + 1}\t{i % 500 + 1}\t1\t{i % 12 + 1}\t2009" for i in range(tagged)],
        "user_artists.dat": ["userID\tartistID\tweight"]
        + [f"{i % users + 1}\t{(i * 7) % artists + 1}\t{i % 900 + 1}" for i in range(tagged // 4)],
    }  # fmt: skip
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _big_instagram(folder: Path) -> list[str]:
    n = 150_000
    export = Export(
        following=[(f"user{i}", T0 + i) for i in range(n)],
        liked=[(f"p/C{i}", f"user{i % 5000}", "N", T0 + i, f"#t{i % 300}") for i in range(n // 2)],
    )
    root = folder / "instagram-ana_photos-2025-01-10"
    for name, value in export.tree("new").items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value if isinstance(value, bytes) else json.dumps(value).encode())
    return ["instagram", str(root)]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[str]]]:
    """Per source: the database as it was before (a file to copy) and the import's arguments."""
    folder = tmp_path_factory.mktemp("inputs")
    known = build_known_world(folder / "known.db")
    known.close()
    # Last.fm refuses a database holding other data: its "before" is an earlier Last.fm import.
    small = folder / "lastfm.db"
    subprocess.run(
        [*CLI, "--db", str(small), "import", "lastfm", str(_lastfm_files(folder / "s", 40))],
        check=True,
        capture_output=True,
    )
    big_lastfm = _lastfm_files(folder / "lastfm", 450_000)
    return {
        "csv": (folder / "known.db", _big_csv(folder)),
        "lastfm": (small, ["lastfm", str(big_lastfm)]),
        "instagram": (folder / "known.db", _big_instagram(folder)),
    }


@pytest.mark.parametrize("at", DELAYS)
@pytest.mark.parametrize("source", ["csv", "lastfm", "instagram"])
def test_ctrl_c_early_in_an_import(
    tmp_path: Path,
    inputs: dict[str, tuple[Path, list[str]]],
    startup: float,
    source: str,
    at: float,
) -> None:
    before, args = inputs[source]
    db = tmp_path / "d.db"
    db.write_bytes(before.read_bytes())
    old = dump(db)
    code, err, took = interrupt([*CLI, "--db", str(db), "import", *args], at=startup + at)
    assert (code, one_line(err)) == (130, "interrupted")
    assert took < 5, f"took {took:.1f} s to stop"
    assert leftovers(tmp_path) == []
    assert dump(db) == old  # nothing half-imported


def test_ctrl_c_while_the_import_writes(tmp_path: Path) -> None:
    """Later, once the import's transaction holds the write lock (the ``-wal`` file exists)."""
    db = tmp_path / "k.db"
    build_known_world(db).close()
    old = dump(db)
    cmd = [*CLI, "--db", str(db), "import", *_big_csv(tmp_path)]
    code, err, took = interrupt(cmd, once=Path(f"{db}-wal"))
    assert (code, one_line(err)) == (130, "interrupted")
    assert took < 5, f"took {took:.1f} s to stop"
    with Store.open(db, create=False) as s:
        assert (s.count("accounts"), s.count("follows")) == (8, 10)
    assert dump(db) == old


@pytest.mark.parametrize("stage", ["rows", "images"])
def test_ctrl_c_during_generate_keeps_the_old_world(tmp_path: Path, stage: str) -> None:
    db = tmp_path / "w.db"
    cli = [*CLI, "--db", str(db), "generate", "--size", "tiny"]
    subprocess.run([*cli, "--users", "30", "--no-images"], check=True, capture_output=True)
    old = dump(db)
    # rows: the new world's file is being written; images: worker processes are rendering
    started = Path(f"{db}.tmp") if stage == "rows" else Path(f"{db}.media.tmp") / "p"
    code, err, took = interrupt([*cli, "--force"], once=started)
    assert (code, one_line(err)) == (130, "interrupted")
    assert took < 5, f"took {took:.1f} s to stop"
    assert leftovers(tmp_path) == []
    with Store.open(db, create=False) as s:
        assert s.count("accounts") == 42  # the previous world, whole
    assert dump(db) == old


@pytest.mark.parametrize("at", DELAYS)
def test_ctrl_c_early_in_generate(tmp_path: Path, startup: float, at: float) -> None:
    db = tmp_path / "w.db"
    cli = [*CLI, "--db", str(db), "generate", "--size", "tiny"]
    subprocess.run([*cli, "--users", "30", "--no-images"], check=True, capture_output=True)
    old = dump(db)
    code, err, _ = interrupt([*cli, "--users", "3000", "--force"], at=startup + at)
    assert (code, one_line(err)) == (130, "interrupted")
    assert leftovers(tmp_path) == []
    assert dump(db) == old


# ----------------------------------------------------------------------------- lost interrupts
# A signal landing in some third-party imports never surfaces: numpy.random's Cython start-up,
# reached through scipy's ``from numpy import *``, swallowed the KeyboardInterrupt and the import
# then ran and committed (exit 0, seen in CI); one landing in a class body's ``__set_name__``
# comes out as a RuntimeError. Both are made here on purpose, at a known point.
SWALLOWED = """
import os, signal, sys
import discovery.cli._interrupt
try:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(10**6):  # the handler runs between bytecodes
        pass
except BaseException:
    pass  # what the library did
from discovery.cli import main
main(sys.argv[1:])
"""

WRAPPED = """
import os, signal
import discovery.cli._interrupt
class Name:
    def __set_name__(self, owner, name):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10**6):
            pass
class Owner:
    field = Name()
"""


def test_a_ctrl_c_a_library_swallowed_still_stops_the_command(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    build_known_world(db).close()
    old = dump(db)
    args = ["--db", str(db), "import", *_big_csv(tmp_path)]
    done = subprocess.run([sys.executable, "-c", SWALLOWED, *args], capture_output=True, text=True)
    assert (done.returncode, one_line(done.stderr)) == (130, "interrupted")
    assert dump(db) == old


# The same during a command, inside its transaction: seen once in a fresh clone's CI run, a
# signal landing in a library call of `import lastfm` ("Exception ignored in: 'Path'") went
# unraised. Here a store write swallows it on purpose; the commit check must still roll back.
SWALLOWED_IN_A_WRITE = """
import os, signal, sys
from discovery.store import Store
from discovery.cli import main
real = Store.add_follows
def add_follows(self, *args, **kwargs):
    try:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10**6):
            pass
    except BaseException:
        pass  # what the library did
    return real(self, *args, **kwargs)
Store.add_follows = add_follows
main(sys.argv[1:])
"""


def test_a_ctrl_c_a_library_swallowed_inside_a_transaction_rolls_it_back(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    build_known_world(db).close()
    old = dump(db)
    args = ["--db", str(db), "import", *_big_csv(tmp_path)]
    script = SWALLOWED_IN_A_WRITE
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
    assert (done.returncode, one_line(done.stderr)) == (130, "interrupted")
    assert dump(db) == old
    # without the swallowing the same import commits: the check is what stopped it
    plain = script.replace("os.kill(os.getpid(), signal.SIGINT)", "pass")
    done = subprocess.run([sys.executable, "-c", plain, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert dump(db) != old


def test_a_ctrl_c_wrapped_in_another_error_while_loading_is_quiet() -> None:
    done = subprocess.run([sys.executable, "-c", WRAPPED], capture_output=True, text=True)
    assert (done.returncode, one_line(done.stderr)) == (130, "interrupted")
