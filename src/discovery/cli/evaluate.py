"""``discovery evaluate``: the offline yardstick (temporal hold-out, metrics with intervals)."""

from __future__ import annotations

import contextlib
import json
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import InputError
from ..settings import Settings
from ._common import app, console, err_console, state

if TYPE_CHECKING:
    from ..evaluation import Evaluation

__all__ = ["evaluate_command", "results_table"]


@app.command("evaluate")
def evaluate_command(
    holdout: str = typer.Option("7d", "--holdout", help="Test period at the end of the data."),
    step: str = typer.Option(
        "1d", "--step", help="Length of each rolling hold-out step (= --holdout for one cut)."
    ),
    k: int = typer.Option(10, "-k", "--k", help="Feed length measured (metrics @k)."),
    strategies: str = typer.Option(
        "",
        "--strategies",
        help="Comma-separated strategies (default: all; oracle is added on a synthetic world).",
    ),
    users: int = typer.Option(200, "--users", help="Users sampled (seeded); 0 = every user."),
    report: Path = typer.Option(None, "--report", help="Write report.md and PNG charts here."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    seed: int = typer.Option(42, "--seed", help="Seed of the user sample, random and bootstrap."),
    inventory: str = typer.Option(
        "step",
        "--inventory",
        help="step: serve at the end of each step, posts of the step"
        " included (fresh content); cut: serve at the cut, pre-cut posts only.",
    ),
    window_days: float = typer.Option(
        None, "--window-days", help="Candidate window (setting window_days) for this run."
    ),
    validation: bool = typer.Option(
        False,
        "--validation",
        help="Evaluate the hold-out before the test period instead (for"
        " tuning: never tune on the test period).",
    ),
    samples: int = typer.Option(1000, "--samples", help="Bootstrap resamples."),
    dataset: str = typer.Option("", "--dataset", help="Name in the report (default: the db)."),
) -> None:
    """Score strategies on a temporal hold-out: precision, recall, NDCG, MAP, hit rate,
    coverage, diversity, novelty and author concentration, with 95 % bootstrap intervals."""
    from ..evaluation import DEFAULT_STRATEGIES, Protocol, evaluate, write_report
    from ..evaluation.split import INVENTORIES, parse_duration
    from ..snapshot import load_snapshot

    if not 1 <= k <= 100:
        raise InputError(f"-k must be between 1 and 100, got {k}")
    if users < 0:
        raise InputError(f"--users must be 0 (all) or positive, got {users}")
    if not 10 <= samples <= 100_000:
        raise InputError(f"--samples must be between 10 and 100000, got {samples}")
    if inventory not in INVENTORIES:
        raise InputError(f"--inventory {inventory!r}: expected one of {', '.join(INVENTORIES)}")
    names = [s.strip() for s in strategies.split(",") if s.strip()] or list(DEFAULT_STRATEGIES)
    hold, stp = parse_duration(holdout, "--holdout"), parse_duration(step, "--step")
    settings = Settings() if window_days is None else Settings().replace(window_days=window_days)
    store = state.open_store()
    try:
        end = None
        if validation:
            end = load_snapshot(store).now - hold
        protocol = Protocol(
            holdout=hold, step=stp, k=k, inventory=inventory, users=users, seed=seed, end=end,
            samples=samples,
        )  # fmt: skip
        name = dataset or store.get_meta("dataset") or Path(str(state.db)).stem
        started = time.perf_counter()

        # A bar on stderr while it runs, gone when done; none in a pipe, whose reader wants
        # errors and results as single lines.
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        with bar if err_console.is_terminal else contextlib.nullcontext():
            task = bar.add_task("evaluating", total=None)

            def progress(strategy: str, fold: int, folds: int) -> None:
                done = fold * len(names) + (names.index(strategy) if strategy in names else 0)
                description = f"step {fold + 1}/{folds}: {strategy}"
                bar.update(task, completed=done, total=folds * len(names), description=description)

            ev = evaluate(store, names, protocol, settings, dataset=name, progress=progress)
        ev.info["seconds_total"] = round(time.perf_counter() - started, 1)
    finally:
        store.close()
    # The canonical command (every option that changes a number), printed in the report.
    parts = ["discovery", "--db", str(state.db), "evaluate", "--holdout", holdout, "--step", step]
    parts += ["-k", str(k), "--users", str(users), "--seed", str(seed), "--inventory", inventory]
    if strategies:
        parts += ["--strategies", strategies]
    if window_days is not None:
        parts += ["--window-days", f"{window_days:g}"]
    if validation:
        parts.append("--validation")
    if samples != 1000:
        parts += ["--samples", str(samples)]
    if report is not None:
        parts += ["--report", str(report)]
    command = " ".join(shlex.quote(a) for a in parts)
    if report is not None:
        write_report(ev, report, command)
    if as_json:
        from ..evaluation.report import targets

        typer.echo(json.dumps({**ev.to_json(), "targets": targets(ev)}, indent=1))
        return
    console.print(results_table(ev))
    if report is not None:
        console.print(f"report: {report / 'report.md'}")


def results_table(ev: Evaluation) -> Table:
    """Headline metrics of every strategy as a rich table."""
    from ..evaluation.report import format_cell, metric_label

    keys = (
        "ndcg",
        "recall",
        "hit_rate",
        "coverage",
        "novelty",
        "author_top_share",
        "oracle_fraction",
    )
    table = Table(title=f"{ev.dataset}: {ev.info['users']} users, {ev.info['lists']} feeds")
    table.add_column("strategy")
    for key in keys:
        table.add_column(metric_label(key, ev.protocol.k), justify="right")
    for s in ev.strategies:
        row = ev.metrics[s]
        table.add_row(s, *[format_cell(row.get(key), 3) for key in keys])
    return table
