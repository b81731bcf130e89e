"""Experiments over a store, as the CLI and the HTTP API both use them: create, list, stop, and
the report (per-arm metrics with intervals, and the interleaving preference) as one dict that
``discovery experiment report --json`` prints and ``GET /v1/experiments/{name}`` returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..store.errors import NotFound
from ..store.experiments import ExperimentConflict
from .metrics import arm_metrics, interleaving_preference
from .model import Experiment, new_experiment

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["create_experiment", "experiment_report", "list_experiments", "load_experiment", "stop"]


def load_experiment(store: Store, name: str) -> Experiment:
    """The experiment named ``name`` (:class:`~discovery.store.NotFound` when unknown)."""
    record = store.experiment(name)
    if record is None:
        raise NotFound(f"no experiment named {name!r}")
    return Experiment.from_body(record.name, record.body, record.created_at, record.stopped_at)


def list_experiments(store: Store) -> list[Experiment]:
    """Every experiment, oldest first."""
    return [
        Experiment.from_body(r.name, r.body, r.created_at, r.stopped_at)
        for r in store.experiments()
    ]


def create_experiment(
    store: Store,
    name: str,
    arms: list[str],
    split: str | None = None,
    *,
    interleave: bool = False,
    now: int,
) -> Experiment:
    """Validate (:class:`~discovery.errors.InputError`) and store a new experiment; only one
    runs at a time (:class:`~discovery.store.experiments.ExperimentConflict`)."""
    experiment = new_experiment(name, arms, split, interleave=interleave, created_at=now)
    store.create_experiment(name, experiment.body(), now)
    return load_experiment(store, name)


def stop(store: Store, name: str, now: int) -> Experiment:
    """Stop a running experiment: feeds go back to the default at once (NotFound when
    unknown, ExperimentConflict when already stopped)."""
    load_experiment(store, name)
    if not store.stop_experiment(name, now):
        raise ExperimentConflict(f"experiment {name!r} is already stopped")
    return load_experiment(store, name)


def experiment_report(store: Store, name: str, *, seed: int | None = None) -> dict[str, Any]:
    """The experiment's definition, per-arm metrics (95 % intervals over users, see
    :mod:`.metrics`) and, when interleaved, the per-user preference with its sign test
    (``preference`` is null for an A/B split)."""
    experiment = load_experiment(store, name)
    totals = store.experiment_totals(name)
    arms = [a.name for a in experiment.arms]
    out = experiment.to_json()
    out["metrics"] = [m.to_json() for m in arm_metrics(totals, arms, seed=seed)]
    out["preference"] = None
    if experiment.interleave:
        pref = interleaving_preference(totals, arms[0], arms[1])
        out["preference"] = {
            "wins": pref.wins,
            "losses": pref.losses,
            "ties": pref.ties,
            "delta": pref.delta,
            "p_value": pref.p_value,
        }
    return out
