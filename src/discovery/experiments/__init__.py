"""Online experiments: A/B splits of rankers or settings, team-draft interleaving, impression
logs and per-arm metrics (issue 13 §3).

The math lives in pure functions (:mod:`.interleaving`, :mod:`.assign`, :mod:`.metrics`); the
store keeps experiments and impressions (:mod:`discovery.store.experiments`); the server and the
CLI are thin faces over both.
"""

from __future__ import annotations

from .interleaving import (
    TEAM_A,
    TEAM_B,
    Preference,
    credit,
    preference_test,
    preferences,
    team_draft,
)

__all__ = [
    "TEAM_A",
    "TEAM_B",
    "Preference",
    "credit",
    "preference_test",
    "preferences",
    "team_draft",
]
