"""What the README tells a new user to run and open, read from README.md itself.

:func:`steps` turns the fenced code blocks of a README section into ``discovery`` commands
(``make`` lines become the ``discovery`` commands their Makefile recipe runs); :func:`urls`
finds the local URLs a section names; :func:`page_rows` reads the page table of "In the
browser". The walk test runs them, so the README cannot drift from what works.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LOCAL", "PageRow", "Step", "code_blocks", "page_rows", "section", "steps", "urls"]

#: The server address the README uses; the walk's server has its own port.
LOCAL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Step:
    """One command of the README: ``args`` after ``discovery`` (``--db`` already the walk's),
    the README line it came from, and whether it is the server."""

    args: tuple[str, ...]
    line: str

    @property
    def serves(self) -> bool:
        return "serve" in self.args and "--get" not in self.args


@dataclass(frozen=True)
class PageRow:
    """A row of the page table: the page paths (``/u/{handle}/explore``), what the README
    says they show, and their JSON twins as written (``…/feed?kind=timeline`` included)."""

    pages: tuple[str, ...]
    what: str
    twins: tuple[str, ...]


def section(text: str, title: str, *, subsections: bool = False) -> str:
    """The body of the section whose heading is ``title`` (any level), up to the next heading
    (of the same or a higher level with ``subsections``); headings inside fenced code do not
    count."""
    lines, out, level, fenced = text.splitlines(), [], 0, False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        heading = None if fenced else re.match(r"(#+) (.*)", line)
        if level and heading and (len(heading[1]) <= level or not subsections):
            break
        if level:
            out.append(line)
        elif heading and heading[2].strip() == title:
            level = len(heading[1])
    if not level:
        raise LookupError(f"README has no section {title!r}")
    return "\n".join(out)


def code_blocks(body: str) -> list[str]:
    return re.findall(r"^```[^\n]*\n(.*?)^```", body, flags=re.M | re.S)


def _make_recipe(makefile: str, target: str) -> list[str]:
    """The recipe lines of ``target`` in the Makefile, variables as written."""
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)*)", makefile, flags=re.M)
    if match is None:
        raise LookupError(f"the Makefile has no target {target!r}")
    return [line.strip() for line in match[1].splitlines()]


def _discovery_args(words: list[str], db: str) -> tuple[str, ...] | None:
    """``[…/]discovery [--db X] ARGS`` → ``("--db", db, *ARGS)``; None for another program."""
    if not words or Path(words[0]).name != "discovery":
        return None
    rest = words[1:]
    if rest[:1] == ["--db"]:
        rest = rest[2:]
    return ("--db", db, *rest)


def steps(body: str, makefile: str, db: str) -> list[Step]:
    """The ``discovery`` commands a section's code blocks run, in order, against ``db``.

    A ``make TARGET`` line runs what the Makefile's recipe for TARGET runs with ``discovery``
    (``$(BIN)/discovery --db $(DB) demo``); recipe lines of other programs (pip, ruff, pytest)
    are installation or this test suite itself and are left out. Comments after ``#`` go.
    """
    out: list[Step] = []
    for block in code_blocks(body):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if not words:
                continue
            if words[0] == "make":
                for target in words[1:]:
                    for recipe in _make_recipe(makefile, target):
                        expanded = recipe.replace("$(BIN)/", ".venv/bin/").replace("$(DB)", db)
                        args = _discovery_args(shlex.split(expanded), db)
                        if args is not None:
                            out.append(Step(args, line.strip()))
                continue
            args = _discovery_args(words, db)
            if args is not None:
                out.append(Step(args, line.strip()))
    return out


def urls(body: str) -> list[str]:
    """Every distinct ``http://127.0.0.1:8000…`` URL in the section, in order of appearance."""
    found = re.findall(re.escape(LOCAL) + r"[^\s`)\]>\"',]*", body)
    return list(dict.fromkeys(u.rstrip(".") for u in found))


def page_rows(body: str) -> list[PageRow]:
    """The rows of the first table in ``body`` whose header starts with ``page``."""
    rows: list[PageRow] = []
    in_table = False
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if "|" in line else []
        if cells and cells[0] == "page":
            in_table = True
            continue
        if not in_table:
            continue
        if not cells:
            break
        if set(cells[0]) <= set("-: "):
            continue
        pages = tuple(p for p in re.findall(r"`([^`]+)`", cells[0]) if p.startswith("/"))
        twins = tuple(re.findall(r"`([^`]+)`", cells[2])) if len(cells) > 2 else ()
        rows.append(PageRow(pages, cells[1] if len(cells) > 1 else "", twins))
    return rows
