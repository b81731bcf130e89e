"""The CLI as a person reads it: tables that fit 80 columns and wrap at spaces, ``explain`` as a
table, flags shown as flags, progress on stderr, and no warnings in normal use."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from rich.cells import cell_len
from rich.console import Console

from discovery.cli import app, main
from worlds import build_known_world


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "known.db"
    build_known_world(path).close()
    return path


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the commands print, on an 80-column terminal."""
    out = io.StringIO()
    console = Console(width=80, file=out, color_system=None, force_terminal=False)
    for module in ("feeds", "data", "imports", "evaluate"):
        monkeypatch.setattr(f"discovery.cli.{module}.console", console)
    return out


def cli(*argv: str) -> int:
    try:
        main(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def fits(text: str) -> None:
    wide = [line for line in text.splitlines() if cell_len(line) > 80]
    assert not wide, wide[0]


def test_feed_fits_80_columns_and_wraps_whole_words(db: Path, screen: io.StringIO) -> None:
    from discovery.engine import Engine

    assert cli("--db", str(db), "feed", "me", "-k", "20") == 0
    text = screen.getvalue()
    fits(text)
    assert "reason" in text and "@" in text
    reasons = [item.reason for item in Engine.open(db).feed("me", k=20)]
    assert reasons
    for word in {w for r in reasons for w in r.split()}:
        assert word in text, f"{word!r} was cut across lines"


def test_explain_is_a_table_not_a_dict(db: Path, screen: io.StringIO) -> None:
    assert cli("--db", str(db), "explain", "me", "301") == 0
    text = screen.getvalue()
    fits(text)
    assert "{" not in text and "None" not in text
    assert re.search(r"│ sources\s+│", text) and re.search(r"│ filtered by\s+│", text)
    assert "ranker: score" in text


def test_interests_info_and_an_import_summary_fit(
    db: Path, screen: io.StringIO, tmp_path: Path
) -> None:
    assert cli("--db", str(db), "interests", "me") == 0
    assert cli("--db", str(db), "info") == 0
    follows = tmp_path / "f.csv"
    follows.write_text("src,dst\nsomeone.with.a.long.handle,another.long.handle.here\n")
    assert cli("--db", str(db), "import", "csv", "--follows", str(follows)) == 0
    text = screen.getvalue()
    fits(text)
    assert "accounts (referenced, not listed)" in text and "#hiking" in text


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, group)]
    if hasattr(group, "commands"):  # a group (typer vendors its own click classes)
        for name, sub in group.commands.items():
            found += _commands(sub, (*path, name))
    return found


def test_every_flag_shows_as_a_flag_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    flags = 0
    for path, command in _commands(typer.main.get_command(app)):
        assert cli(*path, "--help") == 0
        text = capsys.readouterr().out
        assert "<bool>" not in text, path
        for param in command.params:
            if getattr(param, "is_flag", False):
                flags += 1
                assert param.opts[0] in text, (path, param.opts)
    assert flags > 10  # --force, --json, --dry-run, --admin... and --help everywhere


def test_help_wraps_docstrings_at_the_terminal_width(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--help") == 0
    text = capsys.readouterr().out
    # "dangling references" is one phrase in doctor's docstring, split across source lines
    assert re.search(r"dangling\s+references", text)
    assert not re.search(r"dangling\s*│\n│\s+references", text)


def test_evaluate_shows_progress_on_stderr(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(
        "discovery.cli.evaluate.err_console", Console(file=err, force_terminal=True, width=80)
    )
    code = cli("--db", str(db), "evaluate", "--holdout", "1d", "--step", "1d", "--samples", "10")
    assert code == 0
    assert "step 1/" in err.getvalue() and "━" in err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["info"],
        ["feed", "me"],
        ["interests", "me"],
        ["explain", "me", "301"],
        ["serve", "--get", "/v1/users/me/feed"],
        ["like", "me", "301"],
        ["clock"],
        ["token", "list"],
        ["import", "csv", "--follows", "{csv}"],
        ["--db", "{new}", "generate", "--size", "tiny", "--users", "30", "--no-images"],
    ],
)
def test_no_deprecation_warnings_in_normal_use(db: Path, tmp_path: Path, argv: list[str]) -> None:
    follows = tmp_path / "follows.csv"
    follows.write_text("src,dst\nnew.a,new.b\n")
    fill = {"{csv}": str(follows), "{new}": str(tmp_path / "new.db")}
    argv = [fill.get(a, a) for a in argv]
    where = [] if argv[0] == "--db" else ["--db", str(db)]
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-m", "discovery", *where, *argv],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
