"""Offline evaluation: temporal hold-out, strategies side by side, metrics with intervals.

``discovery evaluate`` and :func:`evaluate` rebuild the engine from the data as of each cut,
ask every strategy for a feed, and compare the feeds with what users engaged with afterwards.
matplotlib (charts) and implicit (the ALS baseline) are imported only when used.
"""

from .harness import DEFAULT_STRATEGIES, METRICS, Evaluation, Protocol, evaluate, evaluate_folds
from .report import markdown, targets, write_report
from .split import Fold, holdout_positives, make_folds, parse_duration, view_at
from .strategies import STRATEGIES, Strategy, Training, make_strategy

__all__ = [
    "DEFAULT_STRATEGIES",
    "METRICS",
    "STRATEGIES",
    "Evaluation",
    "Fold",
    "Protocol",
    "Strategy",
    "Training",
    "evaluate",
    "evaluate_folds",
    "holdout_positives",
    "make_folds",
    "make_strategy",
    "markdown",
    "parse_duration",
    "targets",
    "view_at",
    "write_report",
]
