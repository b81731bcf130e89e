"""What an experiment is: typed records, parsed and validated once, for the CLI and the API.

An *arm* is a ranker, settings overrides, or both, written as the CLI and the API take it:
``default``, ``tutorial``, ``window_days=30``, ``tutorial+window_days=30+alpha=0.9`` (a ranker
name from :data:`discovery.ranking.RANKERS` first, if any, then ``setting=value`` parts in the
syntax of ``--set``). An *experiment* splits users between two or more arms by percentages that
sum to 100 (an A/B test), or, with ``interleave``, merges exactly two arms in every user's feed
(team-draft interleaving, :mod:`.interleaving`).

>>> e = new_experiment("explore-ranker", ["default", "tutorial"], "50/50")
>>> [(a.name, a.ranker) for a in e.arms], e.split
([('default', 'default'), ('tutorial', 'tutorial')], (50, 50))
>>> parse_arm("window_days=30").overrides()
{'window_days': 30.0}
>>> new_experiment("x", ["default", "nope"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
discovery.errors.InputError: arm 'nope': unknown ranker 'nope'; expected one of default, tutorial...
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..settings import Settings, parse_assignments

__all__ = ["NAME_RULE", "Arm", "Experiment", "new_experiment", "parse_arm", "parse_split"]

#: Experiment names: lower-case letters, digits, ``-`` and ``_``, 1–64 characters, starting
#: with a letter or digit (they appear in URLs and in every impression row).
NAME_RULE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Arm:
    """One arm: its name as written, the ranker it serves and its settings overrides."""

    name: str
    ranker: str = "default"
    settings: tuple[tuple[str, Any], ...] = ()

    def overrides(self) -> dict[str, Any]:
        """The settings changes, for :meth:`discovery.settings.Settings.replace`."""
        return dict(self.settings)


@dataclass(frozen=True)
class Experiment:
    """An experiment: arms, their split in percent (empty when interleaved), and its life."""

    name: str
    arms: tuple[Arm, ...]
    split: tuple[int, ...] = ()
    interleave: bool = False
    created_at: int = 0
    stopped_at: int | None = None

    @property
    def running(self) -> bool:
        return self.stopped_at is None

    @property
    def mode(self) -> str:
        return "interleave" if self.interleave else "ab"

    def body(self) -> str:
        """The JSON kept in ``experiments.body`` (arms as written: parsed again on load)."""
        arms = [a.name for a in self.arms]
        return json.dumps({"arms": arms, "split": list(self.split), "mode": self.mode})

    @classmethod
    def from_body(
        cls, name: str, body: str, created_at: int = 0, stopped_at: int | None = None
    ) -> Experiment:
        """The experiment a stored row describes (validated again, as on create)."""
        data = json.loads(body)
        interleave = data.get("mode") == "interleave"
        split = None if interleave else "/".join(str(int(p)) for p in data["split"])
        made = new_experiment(name, list(data["arms"]), split, interleave=interleave)
        return cls(name, made.arms, made.split, interleave, int(created_at), stopped_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "arms": [
                {"name": a.name, "ranker": a.ranker, "settings": a.overrides()} for a in self.arms
            ],
            "split": list(self.split) if self.split else None,
            "created_at": self.created_at,
            "stopped_at": self.stopped_at,
            "running": self.running,
        }


def parse_arm(spec: str) -> Arm:
    """``[ranker][+setting=value]...`` → :class:`Arm` (:class:`InputError` naming the arm).

    >>> parse_arm("tutorial+window_days=30")
    Arm(name='tutorial+window_days=30', ranker='tutorial', settings=(('window_days', 30.0),))
    """
    from ..ranking.rankers import RANKERS  # the registry, with every plug-in ranker loaded

    name = spec.strip()
    if not name:
        raise InputError("an arm is empty; expected a ranker name or setting=value")
    parts = [p.strip() for p in name.split("+")]
    ranker = "default"
    if "=" not in parts[0]:
        ranker = parts.pop(0)
        if ranker not in RANKERS:
            known = ", ".join(RANKERS)
            raise InputError(f"arm {name!r}: unknown ranker {ranker!r}; expected one of {known}")
    try:
        changes = parse_assignments(parts)
    except InputError as exc:
        raise InputError(f"arm {name!r}: {re.sub(r'^--set:? ', '', str(exc))}") from None
    Settings().replace(**changes)
    return Arm(name, ranker, tuple(sorted(changes.items())))


def parse_split(text: str | None, n_arms: int) -> tuple[int, ...]:
    """``"50/50"`` → ``(50, 50)``: whole percentages, one per arm, summing to 100; None
    splits as evenly as whole percentages allow (the first arms get the spare points).

    >>> parse_split("20/30/50", 3), parse_split(None, 3)
    ((20, 30, 50), (34, 33, 33))
    """
    if text is None:
        return tuple(100 // n_arms + (1 if i < 100 % n_arms else 0) for i in range(n_arms))
    try:
        parts = tuple(int(p) for p in text.split("/"))
    except ValueError:
        raise InputError(f"split {text!r}: expected whole percentages like 50/50") from None
    if len(parts) != n_arms:
        raise InputError(f"split {text!r}: {len(parts)} shares for {n_arms} arms")
    if any(p <= 0 for p in parts):
        raise InputError(f"split {text!r}: every arm needs a share above 0")
    if sum(parts) != 100:
        raise InputError(f"split {text!r}: the shares sum to {sum(parts)}, not 100")
    return parts


def new_experiment(
    name: str,
    arms: Sequence[str],
    split: str | None = None,
    *,
    interleave: bool = False,
    created_at: int = 0,
) -> Experiment:
    """A validated experiment (:class:`InputError` with a one-line message otherwise)."""
    if not NAME_RULE.fullmatch(name):
        raise InputError(
            f"experiment name {name!r}: use 1-64 lower-case letters, digits, '-' or '_',"
            " starting with a letter or digit"
        )
    parsed = tuple(parse_arm(a) for a in arms)
    if len(parsed) < 2:
        raise InputError(f"experiment {name!r}: needs at least two arms, got {len(parsed)}")
    names = [a.name for a in parsed]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"experiment {name!r}: arm {twice[0]!r} is listed twice")
    if interleave:
        if len(parsed) != 2:
            raise InputError(f"experiment {name!r}: interleaving merges exactly two arms")
        if split is not None:
            raise InputError(f"experiment {name!r}: an interleaved experiment takes no split")
        return Experiment(name, parsed, (), True, created_at)
    return Experiment(name, parsed, parse_split(split, len(parsed)), False, created_at)
