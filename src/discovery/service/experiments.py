"""``/v1/experiments``: create, list, read and stop experiments (admin tokens only), and the
impression logging every served feed page goes through.

Bodies are built by the ``*_view`` functions (the CLI prints the same dicts); an invalid
experiment is 422 with a one-line ``detail``, a name taken or a second running experiment 409,
an unknown name 404, a user token 403.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from ..experiments import report
from ..store.experiments import ExperimentConflict, ImpressionRow
from .auth import Principal, get_service, principal
from .models import ErrorOut
from .responses import FastJSON
from .state import Service

__all__ = [
    "create_view",
    "experiment_view",
    "experiments_view",
    "log_impressions",
    "router",
    "stop_view",
]


def log_impressions(service: Service, rows: Sequence[ImpressionRow]) -> None:
    """Queue a served page's impressions for the process's impression writer
    (:class:`~.impressions.ImpressionQueue`): the request does not wait for the database.
    Bookkeeping never fails a read (as a token's ``last_used``): on a read-only database, or any
    error of the store, the page stays served and the writer logs a warning."""
    service.impressions.put(rows)  # a full queue drops the page, counts and warns


# ------------------------------------------------------------------ views
def experiments_view(service: Service) -> dict[str, Any]:
    """Every experiment, oldest first."""
    with service.engine_for_read() as engine:
        return {"experiments": [e.to_json() for e in report.list_experiments(engine.store)]}


def experiment_view(service: Service, name: str) -> dict[str, Any]:
    """:func:`discovery.experiments.report.experiment_report` (``experiment report --json``),
    after the pages this process served are written (:meth:`ImpressionQueue.flush`)."""
    service.impressions.flush()
    with service.engine_for_read() as engine:
        return report.experiment_report(engine.store, name)


def create_view(
    service: Service, name: str, arms: list[str], split: str | None, interleave: bool, now: int
) -> dict[str, Any]:
    """Validate and store a new experiment (422 invalid, 409 name taken or one running)."""
    try:
        with service.store_for_write() as store:
            made = report.create_experiment(
                store, name, arms, split, interleave=interleave, now=now
            )
    except ExperimentConflict as exc:
        raise HTTPException(409, str(exc)) from None
    return made.to_json()


def stop_view(service: Service, name: str, now: int) -> dict[str, Any]:
    """Stop a running experiment (404 unknown, 409 already stopped)."""
    try:
        with service.store_for_write() as store:
            return report.stop(store, name, now).to_json()
    except ExperimentConflict as exc:
        raise HTTPException(409, str(exc)) from None


# ----------------------------------------------------------------- models
class ExperimentIn(BaseModel):
    """A new experiment: two or more arms split by percent, or two arms interleaved."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, examples=["explore-ranker"])
    arms: list[Annotated[str, Field(max_length=200)]] = Field(
        min_length=2, max_length=10, examples=[["default", "tutorial"]]
    )
    split: str | None = Field(None, max_length=50, examples=["50/50"])
    interleave: bool = False


class ArmOut(BaseModel):
    name: str
    ranker: str
    settings: dict[str, Any]


class EstimateOut(BaseModel):
    value: float | None
    low: float | None
    high: float | None


class ArmMetricsOut(BaseModel):
    arm: str
    users: int
    impressions: int
    engagements: int
    hides: int
    engagements_per_impression: EstimateOut
    discovery_share: EstimateOut
    hides_per_impression: EstimateOut


class PreferenceOut(BaseModel):
    wins: int
    losses: int
    ties: int
    delta: float
    p_value: float


class ExperimentOut(BaseModel):
    name: str
    mode: str
    arms: list[ArmOut]
    split: list[int] | None
    created_at: int
    stopped_at: int | None
    running: bool


class ExperimentReportOut(ExperimentOut):
    metrics: list[ArmMetricsOut]
    preference: PreferenceOut | None


class ExperimentsOut(BaseModel):
    experiments: list[ExperimentOut]


# ----------------------------------------------------------------- routes
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "Body that is not valid JSON."),
        (401, "Missing or unknown bearer token (when tokens exist)."),
        (403, "Not an admin token."),
        (404, "Unknown experiment."),
        (409, "The name is taken, another experiment is running, or it is already stopped."),
        (413, "Body larger than the server accepts."),
        (415, "Body sent with a Content-Type that is not JSON."),
        (422, "Invalid name, arms or split; `detail` says which and why."),
        (503, "A write to a read-only database."),
    )
}
router = APIRouter(prefix="/v1/experiments", tags=["experiments"], responses=_ERRORS)

Svc = Annotated[Service, Depends(get_service)]
Who = Annotated[Principal, Depends(principal)]
Name = Annotated[str, Path(min_length=1, max_length=64, description="Experiment name.")]


def _admin(who: Principal) -> None:
    if not who.admin:
        raise HTTPException(403, "experiments need an admin token")


def _now() -> int:
    return int(time.time())


@router.get("", response_model=ExperimentsOut)
async def list_experiments(service: Svc, who: Who) -> FastJSON:
    """Every experiment, running or stopped, oldest first."""
    _admin(who)
    return FastJSON(await service.run_read(experiments_view, service))


@router.post("", response_model=ExperimentOut, status_code=201)
async def create_experiment(
    body: Annotated[ExperimentIn, Body()], service: Svc, who: Who
) -> FastJSON:
    """Start an experiment: from now on each user's feeds are served by their arm (a hash of
    the experiment and the user picks it), or by both arms interleaved."""
    _admin(who)
    args = (service, body.name, body.arms, body.split, body.interleave, _now())
    return FastJSON(await service.run_write(create_view, *args), status_code=201)


@router.get("/{name}", response_model=ExperimentReportOut)
async def get_experiment(name: Name, service: Svc, who: Who) -> FastJSON:
    """An experiment and, per arm, users, impressions, engagements per impression, discovery
    share and hides per impression with 95 % intervals (and the interleaving preference)."""
    _admin(who)
    return FastJSON(await service.run_read(experiment_view, service, name))


@router.post("/{name}/stop", response_model=ExperimentOut)
async def post_stop(name: Name, service: Svc, who: Who) -> FastJSON:
    """Stop an experiment: every feed is served by the default ranker again."""
    _admin(who)
    return FastJSON(await service.run_write(stop_view, service, name, _now()))
