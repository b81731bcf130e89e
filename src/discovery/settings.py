"""One definition of every ranking setting: the CLI, the HTTP API and the docs all read it.

Each field carries its default, bounds and help text in the ``metadata`` of a dataclass field;
:func:`settings_table` renders them for the README and ``--help``, and a test checks that every
setting appears in the README.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError

__all__ = ["WEIGHT_NAMES", "Settings", "parse_assignments", "settings_table"]

DAY = 86_400


def _f(default: Any, lo: float, hi: float, help: str) -> Any:
    return field(default=default, metadata={"lo": lo, "hi": hi, "help": help})


@dataclass(frozen=True)
class Settings:
    """Ranking and feed settings (immutable; :meth:`replace` validates)."""

    w_recency: float = _f(0.2, 0.0, 1.0, "Weight of recency in the default ranker.")
    w_popularity: float = _f(0.15, 0.0, 1.0, "Weight of smoothed engagement (popularity).")
    w_affinity: float = _f(0.3, 0.0, 1.0, "Weight of graph affinity (PPR + past interactions).")
    w_interest: float = _f(0.35, 0.0, 1.0, "Weight of hashtag interest match.")
    half_life_hours: float = _f(36.0, 0.5, 24.0 * 60, "Recency half-life of the default ranker.")
    window_days: float = _f(7.0, 0.5, 36500.0, "Only posts this recent are candidates.")
    alpha: float = _f(0.85, 0.5, 0.99, "PageRank damping (probability of following an edge).")
    ppr_mode: str = field(
        default="auto",
        metadata={
            "choices": ("auto", "exact", "ego", "push", "fora"),
            "help": "How PPR is computed: exact (global power iteration), ego (2-hop subgraph),"
            " push (forward push), fora (push + random walks); auto = exact up to 50,000"
            " accounts, else push.",
        },
    )
    weighted_edges: bool = field(
        default=True,
        metadata={"help": "Raise follow-edge weights by the follower's likes and comments."},
    )
    ppr_stale_l1: float = _f(
        0.05,
        0.0,
        1.0,
        "A cached PPR vector is recomputed once graph changes may have moved it this far (L1).",
    )
    hidden_author_penalty: float = _f(
        0.25, 0.0, 1.0, "Score multiplier per hidden post of an author."
    )
    max_per_author: int = _f(
        2,
        1,
        100,
        "At most this many posts of one author in every block of 10 items (1–10, 11–20, …).",
    )
    author_discount: float = _f(
        1.0,
        0.05,
        1.0,
        "The default ranker's pages: each earlier post of the same author multiplies a post's"
        " score by this when the order is chosen (1: off; a trained ranker uses its fitted"
        " author fatigue instead).",
    )
    explore_authors: int = _f(200, 10, 5000, "Top-PPR accounts whose posts explore considers.")
    als_candidates: int = _f(
        200,
        0,
        5000,
        "Posts the `als` source proposes by ALS score (x_u · y_i), besides its co-likers' posts.",
    )
    als_neighbours: int = _f(
        20,
        0,
        1000,
        "Nearest taste neighbours (cosine of ALS user factors) whose recent likes, comments and"
        " saves the `als` source proposes (0: none).",
    )
    source_cap: float = _f(0.9, 0.1, 1.0, "Largest share of a blended feed from one source.")
    explore_scale: float = _f(
        0.5,
        0.0,
        2.0,
        "Multiplier on out-of-network (explore) scores when the blend merges them with the"
        " timeline (Twitter's OutOfNetworkScaleFactor), under the default and tutorial rankers.",
    )
    learned_explore_scale: float = _f(
        1.0,
        0.0,
        2.0,
        "The same multiplier under the learned ranker, whose scores are calibrated"
        " P(engage) less the hide cost: an out-of-network post is ranked by its value as it is.",
    )
    seen_after_impressions: int = _f(
        1,
        0,
        100,
        "A post shown to the user this many times (impression events) counts as seen and"
        " leaves their feeds, like one they engaged with (0: impressions never count).",
    )
    hide_cost: float = _f(
        5.0,
        0.0,
        100.0,
        "The learned ranker: a post's score is its P(engage) less this many times its P(hide),"
        " from the hide model trained beside it (0: off).",
    )
    seed: int = _f(42, 0, 2**31 - 1, "Seed of the random mix (mix=random).")
    precomputed_max_age: float = _f(
        3600.0,
        0.0,
        30 * 86_400.0,
        "Explore and blend take a user's candidates from `discovery batch candidates` while"
        " the stored list is at most this many seconds old (0: never).",
    )

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``, validated (raises :class:`InputError`)."""
        names = {f.name for f in dataclasses.fields(self)}
        for key in changes:
            if key not in names:
                raise InputError(f"unknown setting {key!r}; known: {', '.join(sorted(names))}")
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if "choices" in f.metadata and value not in f.metadata["choices"]:
                raise InputError(f"{f.name}={value!r}: expected one of {f.metadata['choices']}")
            if "lo" in f.metadata:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise InputError(f"{f.name}={value!r}: expected a number")
                if not f.metadata["lo"] <= value <= f.metadata["hi"]:
                    lo, hi = f.metadata["lo"], f.metadata["hi"]
                    raise InputError(f"{f.name}={value}: must be between {lo} and {hi}")

    def weights(self) -> dict[str, float]:
        return {name: getattr(self, f"w_{name}") for name in WEIGHT_NAMES}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """Short hash of the settings, stamped on cached feeds (as gorse does)."""
        return self._fingerprint

    @functools.cached_property
    def _fingerprint(self) -> str:  # once per instance: settings are immutable
        return hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:10]


WEIGHT_NAMES = ("recency", "popularity", "affinity", "interest")


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """``["window_days=30", "ppr_mode=push"]`` → typed changes for :meth:`Settings.replace`
    (the CLI's ``--set``); a bad name, value or bound is an :class:`InputError`.

    >>> parse_assignments(["window_days=30", "weighted_edges=false", "max_per_author=3"])
    {'window_days': 30.0, 'weighted_edges': False, 'max_per_author': 3}
    >>> Settings().replace(**parse_assignments(["window_days=30"])).window_days
    30.0
    """
    kinds = {f.name: f.type for f in dataclasses.fields(Settings)}
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name:
            raise InputError(f"--set {item!r}: expected NAME=VALUE, e.g. window_days=30")
        if name not in kinds:
            raise InputError(f"--set: unknown setting {name!r}; known: {', '.join(sorted(kinds))}")
        kind = kinds[name]
        try:
            if kind in ("bool", bool):
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(text)
                out[name] = text.lower() in ("true", "1", "yes")
            elif kind in ("int", int):
                out[name] = int(text)
            elif kind in ("float", float):
                out[name] = float(text)
            else:
                out[name] = text
        except ValueError:
            raise InputError(f"--set {name}={text!r}: expected a {kind}") from None
    Settings().replace(**out)  # bounds and choices, with their messages
    return out


def settings_table() -> str:
    """Markdown table of every setting (name, default, range, meaning)."""
    rows = ["| setting | default | range | meaning |", "|---|---|---|---|"]
    for f in dataclasses.fields(Settings):
        rng = (
            " / ".join(f.metadata["choices"])
            if "choices" in f.metadata
            else f"{f.metadata['lo']}–{f.metadata['hi']}"
            if "lo" in f.metadata
            else "true / false"
        )
        rows.append(f"| `{f.name}` | {f.default} | {rng} | {f.metadata['help']} |")
    return "\n".join(rows)
