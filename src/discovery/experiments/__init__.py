"""Online experiments: A/B splits of rankers or settings, team-draft interleaving, impression
logs and per-arm metrics (issue 13 §3).

The math lives in pure functions (:mod:`.interleaving`, :mod:`.assign`, :mod:`.metrics`); the
definitions in typed records (:mod:`.model`); the store keeps experiments and impressions
(:mod:`discovery.store.experiments`); serving a feed under an experiment is one hook
(:mod:`.serving`); the server and the CLI are thin faces over :mod:`.report`.
"""

from __future__ import annotations

from .assign import arm_index, unit_hash
from .interleaving import (
    TEAM_A,
    TEAM_B,
    Preference,
    credit,
    preference_test,
    preferences,
    team_draft,
)
from .logging import impression_features
from .model import Arm, Experiment, new_experiment, parse_arm, parse_split

__all__ = [
    "TEAM_A",
    "TEAM_B",
    "Arm",
    "Experiment",
    "Preference",
    "arm_index",
    "credit",
    "impression_features",
    "new_experiment",
    "parse_arm",
    "parse_split",
    "preference_test",
    "preferences",
    "team_draft",
    "unit_hash",
]
