"""The wall around the store: outside ``discovery/store/`` no module runs SQL."""

from __future__ import annotations

import ast
from pathlib import Path

import discovery

PACKAGE = Path(discovery.__file__).parent
#: Attribute names that mean "talking to a database connection directly".
#: (``.query`` counts only when called with a string: ``request.url.query`` is not SQL.)
FORBIDDEN = {"conn", "execute", "executemany", "executescript", "_fetch", "_fetch_in", "_exec",
             "_many", "_stream", "_bulk_insert"}  # fmt: skip


def sql_calls(path: Path) -> list[str]:
    """``file:line attribute`` for every use of a forbidden attribute in one module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    hits = [
        (node.lineno, node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN
    ]
    hits += [
        (node.lineno, "query")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "query"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]
    return [f"{path.relative_to(PACKAGE)}:{line} .{attr}" for line, attr in sorted(hits)]


def test_no_module_outside_the_store_runs_sql() -> None:
    found = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if "store" not in path.relative_to(PACKAGE).parts[:1]
        for hit in sql_calls(path)
    ]
    assert found == []


def test_the_check_can_fail(tmp_path: Path) -> None:
    bad = PACKAGE / "_wall_probe.py"
    bad.write_text("def f(store):\n    return store.query('SELECT 1')\n")
    try:
        assert sql_calls(bad) == ["_wall_probe.py:2 .query"]
    finally:
        bad.unlink()
