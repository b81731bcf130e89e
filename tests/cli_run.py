"""The CLI run in this process, as the tests call it: exit code, stdout and stderr."""

from __future__ import annotations

import pytest

from discovery.cli import main

__all__ = ["run_cli"]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``discovery ARGV`` through :func:`discovery.cli.main`; a ``SystemExit`` becomes its
    code (1 when it carries a message)."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err
