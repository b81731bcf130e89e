"""The README documents what the code offers (one settings definition, read by the docs too)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from discovery.settings import Settings, settings_table

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_with_its_current_default():
    for field in dataclasses.fields(Settings):
        assert f"| `{field.name}` | {field.default} |" in README, field.name
    assert settings_table() in README


def test_every_command_is_documented():
    from discovery.cli import app

    def shown(words: str) -> bool:  # as a person would type it, with or without --db
        return bool(re.search(rf"discovery (\[?--db [^ \]]+\]? )?{words}\b", README))

    for command in app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")
        assert shown(name), name
    for group in app.registered_groups:
        for command in group.typer_instance.registered_commands:
            name = command.name or command.callback.__name__
            assert shown(f"{group.name} {name}"), f"{group.name} {name}"
