"""``discovery batch candidates``: every user's candidate list, locally or on Ray."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..errors import InputError
from ..ranking.batch import FeedRequest
from ..settings import Settings, parse_assignments
from ._common import app, console, state

__all__ = ["batch_app"]

batch_app = typer.Typer(
    help="Batch jobs over every user (locally or on a Ray cluster).", no_args_is_help=True
)
app.add_typer(batch_app, name="batch")


def _n(count: int, noun: str) -> str:
    """``1 user``, ``2 users``.

    >>> _n(1, "user"), _n(2_000, "block")
    ('1 user', '2,000 blocks')
    """
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _read_users(spec: str) -> list[str] | None:
    if spec == "all":
        return None
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"--users {spec}: expected 'all' or a file of handles, one a line")
    handles = [line.strip() for line in path.read_text().splitlines()]
    return [h.lstrip("@") for h in handles if h and not h.startswith("#")]


@batch_app.command("candidates")
def candidates(
    engine: str = typer.Option("local", "--engine", help="local, or ray."),
    address: str = typer.Option(
        None,
        "--address",
        help="An existing Ray cluster (host:port or ray://…); default: a local one.",
    ),
    workers: int = typer.Option(
        None, "--workers", min=1, help="CPUs of the local Ray cluster (default: all cores)."
    ),
    users: str = typer.Option("all", "--users", help="all, or a file of handles (one a line)."),
    kind: str = typer.Option("explore", "--kind", help="Feed kind of the lists."),
    k: int = typer.Option(200, "-k", min=1, help="Candidates per user."),
    ranker: str = typer.Option("default", "--ranker", help="Ranker that orders each list."),
    block: int = typer.Option(200, "--block", min=1, help="Users per task."),
    out: Path = typer.Option(None, "--out", help="Also write the rows to this Parquet file."),
    assignments: list[str] = typer.Option(
        [], "--set", help="Ranking setting NAME=VALUE (repeatable), e.g. window_days=30."
    ),
) -> None:
    """Compute each user's candidate list and store it (serving can use it while fresh)."""
    if engine not in ("local", "ray"):
        raise InputError(f"--engine {engine}: expected local or ray")
    settings = Settings().replace(**parse_assignments(assignments))
    request = FeedRequest(kind, k, ranker)
    columns = (
        TextColumn("users"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    from ..batch import run_candidates  # after argument checks: Ray's import is heavy

    with state.open_store() as store, Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("users", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = run_candidates(
            store,
            engine=engine,  # type: ignore[arg-type]
            address=address,
            workers=workers,
            users=_read_users(users),
            request=request,
            settings=settings,
            block_size=block,
            out=out,
            progress=progress,
        )
    where = f" and {summary.out}" if summary.out else ""
    console.print(
        f"{summary.rows:,} {kind} candidates for {_n(summary.users, 'user')} in"
        f" {_n(summary.blocks, 'block')} ({summary.engine}) in {summary.seconds:.1f} s at"
        f" snapshot {summary.counter:,}"
        f" → {state.db}{where}",
        markup=False,
        soft_wrap=True,
    )


def _options(address: str | None, workers: int | None, gpus: float = 0.0) -> Any:
    from ..batch.jobs import RayOptions

    return RayOptions(address, workers, gpus)


@batch_app.command("embed")
def embed(
    model: str = typer.Option(
        "image", "--model", help="Encoder: image (EfficientNet-Lite0), text (MiniLM), fake-*."
    ),
    address: str = typer.Option(None, "--address", help="An existing Ray cluster."),
    workers: int = typer.Option(None, "--workers", min=1, help="Encoder actors (and CPUs)."),
    gpus: float = typer.Option(0.0, "--gpus", min=0.0, help="GPUs per actor (a GPU node)."),
    batch: int = typer.Option(64, "--batch", min=1, help="Posts per batch."),
    limit: int = typer.Option(0, "--limit", min=0, help="Stop after this many posts (0: all)."),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds per image download."),
) -> None:
    """Embed every post without a vector of the model, as Ray Data map_batches (the same
    vectors as `discovery embed`, which runs in one process)."""
    from ..batch.jobs import ray_embed

    with state.open_store() as store:
        media = Path(str(store.path) + ".media")
        summary = ray_embed(
            store,
            model,
            media,
            _options(address, workers, gpus),
            batch=batch,
            limit=limit or None,
            timeout=timeout,
        )
    failed = ", ".join(f"{n:,} {why}" for why, n in sorted((summary.failed or {}).items()))
    console.print(
        f"{summary.embedded:,} {summary.model} vectors in {summary.seconds:.1f} s"
        + (f"; skipped {failed}" if failed else ""),
        markup=False,
        soft_wrap=True,
    )


train_app = typer.Typer(help="Training jobs on one Ray worker.", no_args_is_help=True)
batch_app.add_typer(train_app, name="train")


@train_app.command("als")
def train_als(
    factors: int = typer.Option(32, "--factors", min=1, max=512, help="Latent factors."),
    iterations: int = typer.Option(15, "--iterations", min=1, max=200, help="ALS sweeps."),
    regularization: float = typer.Option(0.1, "--regularization", min=0.0, help="L2 penalty."),
    alpha: float = typer.Option(1.0, "--alpha", min=1e-9, help="Confidence per engagement."),
    address: str = typer.Option(None, "--address", help="An existing Ray cluster."),
) -> None:
    """Fit ALS on one Ray worker (the snapshot through the object store) and save it as the
    next `als` artifact: the model `discovery train als` fits, computed elsewhere."""
    from ..batch.jobs import ray_train_als
    from ..signals.als import ALSParams

    with state.open_store() as store:
        version, model = ray_train_als(
            store, ALSParams(factors, iterations, regularization, alpha), _options(address, 1)
        )
    m = model.meta
    console.print(
        f"als version {version} (on Ray): {m['users']:,} users × {m['posts']:,} posts,"
        f" {m['nonzeros']:,} engagements, {factors} factors",
        markup=False,
    )


@train_app.command("ranker")
def train_ranker(
    source: str = typer.Option(
        "auto", "--from", help="log, impressions, candidates or auto (as `train ranker`)."
    ),
    days: int = typer.Option(14, "--days", min=1, max=3650, help="Days of history."),
    users: int = typer.Option(200, "--users", min=0, help="Users sampled (0: all)."),
    horizon_hours: float = typer.Option(24.0, "--horizon-hours", min=0.01, help="Credit window."),
    rounds: int = typer.Option(150, "--rounds", min=1, max=10_000, help="Boosting rounds."),
    address: str = typer.Option(None, "--address", help="An existing Ray cluster."),
) -> None:
    """Fit the learned ranker on one Ray worker (the lists built here, the fit there) and
    save it as the next `ranker` artifact: the model `discovery train ranker` fits."""
    from ..batch.jobs import ray_train_ranker
    from ..signals.learned import RankerParams, describe
    from .train import ranker_examples

    if source not in ("auto", "log", "impressions", "candidates"):
        raise InputError(f"--from: expected auto, log, impressions or candidates, got {source!r}")
    with state.open_store() as store:
        kind, examples = ranker_examples(store, source, days, users, int(horizon_hours * 3600))
        version, model = ray_train_ranker(
            store, examples, RankerParams(rounds=rounds), _options(address, 1), kind
        )
    m = model.meta
    console.print(
        f"ranker version {version} (on Ray) from {kind}: {m['lists']:,} lists,"
        f" {m['rows']:,} rows, {m['trees']} trees{describe(m)}",
        markup=False,
    )
