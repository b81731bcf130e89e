"""``discovery generate`` and ``discovery info``: make a synthetic world, describe a database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import InputError
from ..store.model import INTERACTION_KINDS, from_iso, to_iso
from ._common import app, console, err_console, state

__all__ = ["generate", "info"]


@app.command()
def generate(
    size: str = typer.Option(
        "demo", "--size", help="tiny (tests), demo (~2,000 users) or large (1M)."
    ),
    users: int = typer.Option(
        None, "--users", help="Number of people; rescales the size.", show_default=False
    ),
    seed: int = typer.Option(None, "--seed", help="Random seed (default 42).", show_default=False),
    photos: Path = typer.Option(
        None,
        "--photos",
        help="Folder of real tagged photos (photos.json + images/).",
        show_default=False,
    ),
    no_images: bool = typer.Option(
        False, "--no-images", help="Store no images (image column NULL)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing database."),
    theme: str = typer.Option(
        None,
        "--theme",
        help="food (real photographs; the demo size's default) or drawn (the other sizes').",
        show_default=False,
    ),
    now: str = typer.Option(
        None,
        "--now",
        help="The world's last moment, ISO date or time (default: last midnight UTC); pin it"
        " to reproduce a world exactly on another day.",
        show_default=False,
    ),
) -> None:
    """Generate a synthetic photo network (with its ground truth) into the --db file."""
    from ..world import generate_world, plan
    from ..world.generate import check_target
    from ..world.images import load_photos
    from ..world.themes import theme_named

    # Bad arguments and an occupied target fail before any progress bar is drawn.
    at = None if now is None else _iso_arg(now, "--now")
    cfg = plan(size, users, seed, now=at, theme=theme)
    check_target(state.db, force)
    if photos is not None:
        load_photos(photos, theme_named(cfg.theme).topics)
    with Progress(
        TextColumn("{task.description:<13}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        tasks: dict[str, Any] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        try:
            summary = generate_world(
                state.db,
                size=size,
                users=users,
                seed=seed,
                photos_dir=photos,
                images=not no_images,
                progress=tick,
                force=force,
                now=at,
                theme=theme,
            )
        except BaseException:
            # Stopped (Ctrl-C, an error): the bar goes, so that the one line saying why is all
            # that is left; in a pipe rich would otherwise print the bar's last frame first.
            bar.live.transient = True
            raise
    kinds = summary["interactions_by_kind"]
    console.print(
        f"[bold]{state.db}[/]: {summary['accounts']:,} accounts, {summary['follows']:,} follows, "
        f"{summary['posts']:,} posts, {summary['interactions']:,} interactions "
        f"({kinds['like']:,} likes) in {summary['seconds']:.1f} s; images: {summary['images']}",
        soft_wrap=True,
    )


def _iso_arg(text: str, flag: str) -> int:
    try:
        return from_iso(text if "T" in text else f"{text}T00:00:00Z")
    except ValueError:
        raise InputError(f"{flag}: {text!r} is not an ISO date or time") from None


@app.command()
def clock(
    mode: str = typer.Argument(None, help="fixed or wall (omit to show the current clock)."),
    at: str = typer.Option(
        None, "--at", help="With fixed: the moment feeds are computed at (ISO date or time)."
    ),
) -> None:
    """Show or set the clock feeds run on: fixed (a world or replay at its own now) or wall."""
    with state.open_store() as store:
        if mode is not None:
            store.set_clock(mode, at=None if at is None else _iso_arg(at, "--at"))
        elif at is not None:
            raise InputError("--at needs a mode: discovery clock fixed --at DATE")
        current, now = store.clock(), store.get_meta("now")
    shown = "the wall clock" if current == "wall" else f"fixed at {to_iso(int(now or 0))}"
    typer.echo(f"{state.db}: {current} clock ({shown})")


@app.command()
def info(
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of a table."),
) -> None:
    """Counts, time span and graph statistics of the --db database."""
    from ..snapshot import Snapshot
    from ..world.stats import summarize

    with state.open_store() as store:
        snap = Snapshot.load(store)
        body = summarize(snap, INTERACTION_KINDS)
        meta = store.meta()
        clock = store.clock()
    body = {"path": str(state.db), **body, "clock": clock}
    if "now" in meta and clock == "fixed":
        body["now"] = to_iso(int(meta["now"]))
    if "world" in meta:
        world = json.loads(meta["world"])
        body["world"] = {k: world.get(k) for k in ("generator", "size", "users", "seed")}
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False))
        return
    _print_info(body)


def _print_info(body: dict[str, Any]) -> None:
    table = Table(title=str(body["path"]), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key in ("accounts", "follows", "posts", "hashtags"):
        table.add_row(key, f"{body[key]:,}")
    inter = body["interactions"]
    table.add_row("interactions", f"{inter['total']:,}")
    for kind, count in inter["by_kind"].items():
        if count:
            table.add_row(f"  {kind}", f"{count:,}")
    span = body["time_span"]
    table.add_row("time span", f"{span['first']} → {span['last']}")
    clock = "wall (live)" if body["clock"] == "wall" else f"fixed at {body.get('now', '?')}"
    table.add_row("clock", clock)
    g = body["graph"]
    table.add_row("in-degree max / median", f"{g['max_in_degree']:,} / {g['median_in_degree']:g}")
    sampled = (
        f" ({g['clustering_sampled_nodes']:,} sampled nodes)"
        if g["clustering_sampled_nodes"]
        else ""
    )
    table.add_row(
        "clustering", f"{g['clustering']:.3f} vs {g['clustering_random_graph']:.2g} random{sampled}"
    )
    table.add_row("reciprocity", f"{g['reciprocity']:.3f}")
    if "world" in body:
        w = body["world"]
        table.add_row(
            "world", f"{w['size']}, {w['users']:,} users, seed {w['seed']} ({w['generator']})"
        )
    console.print(table)
