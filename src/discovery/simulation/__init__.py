"""Closed-loop simulation on a generated world's ground truth (``discovery simulate``).

Users of a synthetic world open the app day after day, are served feeds by their arm, look down
them, and respond as the world's own behaviour model says; every response goes through the
event path into a scratch copy of the database and the engine catches up before the next day.
"""

from .config import DEFAULT_ARMS, SimConfig, attention
from .loop import History, SimLog, run
from .world import SimWorld, load_world, scratch_copy

__all__ = [
    "DEFAULT_ARMS",
    "History",
    "SimConfig",
    "SimLog",
    "SimWorld",
    "attention",
    "load_world",
    "run",
    "scratch_copy",
]
