"""``discovery experiment create|list|stop|report``: online experiments from the command line.

The same operations, messages and report dict as ``/v1/experiments``
(:mod:`discovery.experiments.report`); a running server picks a create or a stop up on its next
feed request.
"""

from __future__ import annotations

import json
import time
from typing import Any

import typer
from rich.table import Table

from ..experiments import report
from ._common import app, console, err_console, state
from ._text import lit

__all__: list[str] = []

experiment_app = typer.Typer(
    help="Online experiments: A/B splits of rankers or settings, or two rankers interleaved.",
    no_args_is_help=True,
)
app.add_typer(experiment_app, name="experiment")


def _arms(e: dict[str, Any]) -> str:
    split = e["split"] or [None] * len(e["arms"])
    return ", ".join(
        lit(a["name"]) + ("" if s is None else f" ({s} %)")
        for a, s in zip(e["arms"], split, strict=True)
    )


@experiment_app.command("create")
def experiment_create(
    name: str = typer.Argument(..., help="Lower-case letters, digits, '-' and '_'."),
    arms: str = typer.Option(
        ...,
        "--arms",
        help="Comma-separated arms: a ranker (default, tutorial), settings overrides"
        " (window_days=30) or both (tutorial+window_days=30).",
    ),
    split: str = typer.Option(
        None, "--split", help="Percent per arm, e.g. 50/50 (default: as even as possible)."
    ),
    interleave: bool = typer.Option(
        False, "--interleave", help="Merge two arms in every feed (team-draft interleaving)."
    ),
) -> None:
    """Start an experiment: from now on every served feed follows the user's arm (a hash of
    the experiment and the user picks it), or merges both arms with --interleave."""
    with state.open_store() as store:
        made = report.create_experiment(
            store, name, arms.split(","), split, interleave=interleave, now=int(time.time())
        )
    body = made.to_json()
    err_console.print(
        f"experiment {lit(made.name)} started ({made.mode}): {_arms(body)}", highlight=False
    )


@experiment_app.command("list")
def experiment_list(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Every experiment: mode, arms and split, running or stopped."""
    with state.open_store() as store:
        rows = [e.to_json() for e in report.list_experiments(store)]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        err_console.print("no experiments")
        return
    table = Table(title_justify="left")
    for column in ("name", "mode", "arms", "state"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            lit(row["name"]), row["mode"], _arms(row), "running" if row["running"] else "stopped"
        )
    console.print(table)


@experiment_app.command("stop")
def experiment_stop(name: str = typer.Argument(..., help="The experiment to stop.")) -> None:
    """Stop an experiment: feeds are served by the default ranker again."""
    with state.open_store() as store:
        report.stop(store, name, int(time.time()))
    err_console.print(f"experiment {lit(name)} stopped", highlight=False)


def _interval(m: dict[str, Any]) -> str:
    if m["value"] is None:
        return "-"
    if m["low"] is None:
        return f"{m['value']:.4f}"
    return f"{m['value']:.4f} [{m['low']:.4f}, {m['high']:.4f}]"


@experiment_app.command("report")
def experiment_report(
    name: str = typer.Argument(..., help="The experiment."),
    as_json: bool = typer.Option(False, "--json", help="The dict GET /v1/experiments/NAME gives."),
) -> None:
    """Per arm: users, impressions, engagements per impression, discovery share and hides per
    impression with 95 % intervals; for --interleave, per-user wins, losses, ties and the
    sign test's p-value."""
    with state.open_store() as store:
        body = report.experiment_report(store, name)
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False))
        return
    state_ = "running" if body["running"] else "stopped"
    table = Table(title=f"{lit(body['name'])} ({body['mode']}, {state_})", title_justify="left")
    for column in ("arm", "users", "impressions", "eng./impr. [95 % CI]", "discovery share",
                   "hides/impr."):  # fmt: skip
        table.add_column(column, overflow="fold")
    for m in body["metrics"]:
        table.add_row(
            lit(m["arm"]),
            str(m["users"]),
            str(m["impressions"]),
            _interval(m["engagements_per_impression"]),
            _interval(m["discovery_share"]),
            _interval(m["hides_per_impression"]),
        )
    console.print(table)
    pref = body["preference"]
    if pref is not None:
        first, second = (lit(a["name"]) for a in body["arms"])
        console.print(
            f"users preferring {first}: {pref['wins']}, {second}: {pref['losses']},"
            f" ties: {pref['ties']}; sign test p = {pref['p_value']:.4g}",
            highlight=False,
        )
