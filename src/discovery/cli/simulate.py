"""``discovery simulate``: the closed-loop simulator on a generated world (issue 13)."""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import tempfile
import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import InputError
from ._common import app, console, err_console, state

__all__ = ["simulate_command"]


@app.command("simulate")
def simulate_command(
    days: int = typer.Option(14, "--days", help="Simulated days."),
    users: int = typer.Option(0, "--users", help="People taking part (seeded sample); 0 = all."),
    arms: str = typer.Option(
        "timeline,blend,oracle",
        "--arms",
        help="Comma-separated arms: timeline, explore, interests, blend, tutorial, oracle,"
        " random, replay.",
    ),
    k: int = typer.Option(20, "-k", "--k", help="Feed length served each session."),
    seed: int = typer.Option(42, "--seed", help="Seed of opens, looks, responses, new posts."),
    report: Path = typer.Option(None, "--report", help="Write report.md and PNG charts here."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    keep: Path = typer.Option(
        None, "--keep", help="Keep the simulated database (simulated.db) in this folder."
    ),
    samples: int = typer.Option(400, "--samples", help="Bootstrap resamples per interval."),
    ranker_from: Path = typer.Option(
        None,
        "--ranker-from",
        help="Serve arms with ranker=learned by the newest learned ranker stored in this"
        " database (e.g. one trained by --train-ranker on another seed's run).",
    ),
    train_ranker: bool = typer.Option(
        False,
        "--train-ranker",
        help="After the run, train the learned ranker on the impressions of its non-reference"
        " arms and save it in the kept database (needs --keep).",
    ),
    train_with: list[Path] = typer.Option(
        [],
        "--train-with",
        help="With --train-ranker: also train on this earlier kept run's impressions (its"
        " --keep folder or simulated.db; repeatable). Runs of the same world only.",
    ),
    interleave: str = typer.Option(
        "",
        "--interleave",
        help="A,B: arms A, B and their team-draft interleaving A+B; reports how many users"
        " each design needs to tell A from B at p < 0.05.",
    ),
) -> None:
    """Simulate days of use on a copy of a generated world: users open the app, are served
    feeds by their arm, look, like, hide and follow as the world's behaviour model says,
    through the event path; the engine catches up every day. The database itself is not
    changed."""
    from ..simulation import SimConfig, run, scratch_copy
    from ..simulation.summary import summarize

    names = tuple(a.strip() for a in arms.split(",") if a.strip())
    if interleave:
        pair = [a.strip() for a in interleave.split(",") if a.strip()]
        if len(pair) != 2 or pair[0] == pair[1]:
            raise InputError(f"--interleave {interleave!r}: expected two different arms, A,B")
        names = (pair[0], pair[1], "+".join(pair))
    cfg = SimConfig(days=days, users=users, arms=names, k=k, seed=seed, samples=samples)
    cfg.check()
    if keep is not None and (keep / "simulated.db").exists():
        raise InputError(f"--keep: {keep / 'simulated.db'} exists; name an empty folder")
    if train_ranker and keep is None:
        raise InputError("--train-ranker saves the model in the kept database: add --keep DIR")
    if train_with and not train_ranker:
        raise InputError("--train-with adds earlier runs to --train-ranker's lists: add it")
    model = _ranker_from(ranker_from) if ranker_from is not None else None
    source = state.open_store()
    earlier = [_kept_run(path, source) for path in train_with]
    if len({db.resolve() for db in earlier}) < len(earlier):
        raise InputError("--train-with: a run is named twice (its lists would count twice)")
    folder = keep if keep is not None else Path(tempfile.mkdtemp(prefix="discovery-sim-"))
    started = time.perf_counter()
    try:
        if source.get_meta("world") is None:
            raise InputError(
                f"{state.db}: no ground truth (not a generated world); simulate needs a"
                " database made by `discovery generate`"
            )
        bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=err_console, transient=True,
        )  # fmt: skip
        with bar if err_console.is_terminal else contextlib.nullcontext():
            task = bar.add_task("copying the world", total=None)
            store = scratch_copy(source, folder)
            try:

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total, description="day")

                arts = None
                if model is not None:
                    from ..signals.loading import load_artifacts

                    arts = {**load_artifacts(store), "ranker": model}
                log = run(store, cfg, progress, artifacts=arts)
                if train_ranker:
                    bar.update(task, description="training the ranker")
                    trained = _train(store, log, earlier)
            finally:
                store.close()
        summary = summarize(log)
    finally:
        source.close()
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    seconds = time.perf_counter() - started
    parts = ["discovery", "--db", str(state.db), "simulate", "--days", str(days)]
    parts += ["--users", str(users), "--arms", ",".join(names), "-k", str(k), "--seed", str(seed)]
    if interleave:
        parts[parts.index("--arms") : parts.index("--arms") + 2] = ["--interleave", interleave]
    if samples != 400:
        parts += ["--samples", str(samples)]
    if ranker_from is not None:
        parts += ["--ranker-from", str(ranker_from)]
    command = " ".join(shlex.quote(a) for a in parts)
    if report is not None:
        from ..simulation.report import write_report

        write_report(summary, report, command)
    if as_json:
        typer.echo(json.dumps(summary.body, indent=1, sort_keys=True))
        return
    console.print(_table(summary))
    if keep is not None:
        console.print(f"simulated database: {keep / 'simulated.db'}")
    if train_ranker:
        console.print(trained)
    if report is not None:
        console.print(f"report: {report / 'report.md'}")
    err_console.print(f"{seconds:.0f} s")


def _table(summary) -> Table:  # type: ignore[no-untyped-def]
    from ..simulation.metrics import METRICS
    from ..simulation.report import LABELS, _cell

    b = summary.body
    table = Table(title=f"{b['config']['days']} days, {b['participants']:,} users")
    table.add_column("metric")
    for name in b["arms"]:
        table.add_column(name, justify="right")
    for key in METRICS:
        table.add_row(LABELS[key], *[_cell(a["total"][key]) for a in b["arms"].values()])
    return table


def _ranker_from(path: Path):  # type: ignore[no-untyped-def]
    """The newest learned ranker of the database at ``path`` (one line if it has none)."""
    from ..signals.learned import load_ranker
    from ..store import Store

    if not path.exists():
        raise InputError(f"--ranker-from: {path}: no such database")
    with Store.open(path, create=False) as other:
        model = load_ranker(other)
    if model is None:
        raise InputError(f"--ranker-from: {path} holds no learned ranker (discovery train ranker)")
    return model


def _kept_run(path: Path, source) -> Path:  # type: ignore[no-untyped-def]
    """The database of a kept run of ``source``'s world (one line if it is not one)."""
    from ..simulation.learn import RUN_META
    from ..store import Store

    try:
        db = path / "simulated.db" if path.is_dir() else path
        found = db.is_file()
    except OSError:  # a name too long for the file system
        found = False
    if not found:
        raise InputError(f"--train-with: {path}: no such kept run (simulate --keep DIR)")
    with Store.open(db, create=False) as kept:
        if kept.get_meta(RUN_META) is None:
            raise InputError(f"--train-with: {path}: not a finished simulation run")
        if kept.get_meta("world") != source.get_meta("world"):
            raise InputError(f"--train-with: {path}: a run of another world")
    return db


def _train(store, log, earlier: list[Path]) -> str:  # type: ignore[no-untyped-def]
    from ..signals.learned import describe, save_ranker
    from ..simulation.learn import examples_from_run, train_on_simulation
    from ..store import Store

    also = []
    for db in earlier:
        with Store.open(db, create=False) as kept:
            also.append(examples_from_run(kept))
    try:
        model = train_on_simulation(store, log, also=also)
    except ValueError as exc:  # nothing engaged with in the run: no lists to learn from
        raise InputError(f"--train-ranker: {exc}") from None
    version = save_ranker(store, model)
    m = model.meta
    n = len(earlier)
    whose = "the run's" + (f" and {n} earlier runs'" if n > 1 else " and 1 earlier run's" * n)
    return (
        f"ranker version {version} ({m['objective']}) from {whose} impressions:"
        f" {m['lists']:,} lists, {m['rows']:,} rows, {m['trees']} trees{describe(m)}"
    )
