"""``discovery feed``, ``interests``, ``explain`` and ``demo``: feeds in the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import typer
from rich.table import Table

from ..engine import FEED_KINDS, Engine
from ..errors import InputError
from ..feeds import Feed, mark_viewer
from ..feeds.html import feed_grid, page
from ..settings import parse_assignments
from ..store import from_iso
from ..store.validate import check_id
from ._common import app, console, state
from ._text import lit

__all__ = ["feed_table"]


def _engine() -> Engine:
    return Engine.open(state.db)


def feed_table(feed: Feed, title: str | None = None) -> Table:
    """A rich table of a feed with reasons."""
    # No outer edge and a narrow floor for the reason, so that the table fits 80 columns and
    # wraps reasons at spaces; "fold" only cuts a word longer than the whole column.
    table = Table(
        title=title or f"{feed.kind} for @{lit(feed.user)} ({feed.ranker} ranker)",
        show_edge=False,
    )
    for col in ("#", "post", "author", "age", "♥", "💬", "score"):
        table.add_column(col, no_wrap=True)
    table.add_column("reason", overflow="fold", min_width=20)
    now = from_iso(feed.now)
    for item in feed:
        table.add_row(
            str(item.rank),
            str(item.post_id),
            f"@{lit(item.author)}" if item.author else "-",
            _age(now - from_iso(item.taken_at)),
            str(item.like_count),
            str(item.comment_count),
            f"{item.score:.4g}",
            lit(item.reason),
        )
    return table


def _age(seconds: int) -> str:
    """Compact age, as photo apps print it.

    >>> _age(59), _age(7200), _age(3 * 86400)
    ('now', '2h', '3d')
    """
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


@app.command()
def feed(
    handle: str = typer.Argument(..., help="Whose feed."),
    kind: str = typer.Option("blend", "--kind", help=f"One of {', '.join(FEED_KINDS)}."),
    k: int = typer.Option(10, "-k", "--k", help="How many items."),
    ranker: str = typer.Option("default", "--ranker", help="default or tutorial."),
    mix: str = typer.Option("score", "--mix", help="score, or random (the tutorial's sampling)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    assign: list[str] = typer.Option(
        None,
        "--set",
        help="Any ranking setting for this feed, NAME=VALUE (repeatable): --set window_days=30.",
        show_default=False,
    ),
) -> None:
    """Print a ranked feed with a reason for every item."""
    if not 1 <= k <= 1000:
        raise InputError(f"-k must be between 1 and 1000, got {k}")
    changes = parse_assignments(assign or [])
    engine = _engine()
    settings = (
        engine.user_settings(engine.user_index(handle)).replace(**changes) if changes else None
    )
    result = engine.feed(handle, k=k, kind=kind, ranker=ranker, mix=mix, settings=settings)
    mark_viewer(engine.snapshot, engine.user_index(handle), result.items)  # as the API does
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=1))
    else:
        console.print(feed_table(result))


@app.command()
def interests(
    handle: str = typer.Argument(..., help="Whose interests."),
    k: int = typer.Option(10, "-k", "--k", help="How many hashtags."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Top hashtags learned from liked and tagged posts, with the best posts for each."""
    engine = _engine()
    result = engine.interests(handle, k=k)
    mark_viewer(engine.snapshot, engine.user_index(handle), [p for i in result for p in i.posts])
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=1))
        return
    table = Table(title=f"interests of @{lit(result.user)}")
    for col in ("hashtag", "also", "weight", "best posts"):
        table.add_column(col)
    for it in result:
        best = ", ".join(f"{p.post_id} (@{lit(p.author)}, ♥{p.like_count})" for p in it.posts)
        also = " ".join(f"#{lit(t)}" for t in it.members) or "-"
        table.add_row(f"#{lit(it.tag)}", also, f"{it.weight:.3f}", best or "-")
    console.print(table)


@app.command()
def explain(
    handle: str = typer.Argument(..., help="For whom."),
    post_id: int = typer.Argument(..., help="Which post."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every factor of one post for one user, and where it came from."""
    info = _engine().explain(handle, check_id(post_id, "post id"))
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False, indent=1))
        return
    author, user = lit(info["author"]), lit(info["user"])
    about = Table(
        title=f"post {info['post_id']} by @{author} for @{user}",
        show_header=False,
        title_justify="left",
    )
    about.add_column(style="bold", no_wrap=True)
    about.add_column(overflow="fold")
    about.add_row("reason", lit(info["reason"]))
    about.add_row("sources", lit(_sources_text(info["sources"])))
    about.add_row("filtered by", lit(", ".join(info["filtered_by"]) or "nothing"))
    console.print(about)
    for name, r in info["rankers"].items():
        table = Table(title=f"{name} ranker: score {r['score']:.4g}")
        table.add_column("factor")
        table.add_column("value")
        table.add_column("where it came from", overflow="fold")
        for factor, value in r["factors"].items():
            table.add_row(factor, f"{value:.4g}", lit(info["origins"].get(factor, "")))
        console.print(table)


def _sources_text(sources: dict[str, Any]) -> str:
    """The candidate sources of an explanation, in words.

    >>> _sources_text({"following": None, "hashtags": {"tags": ["cats"], "score": 0.5}})
    'following; hashtags (tags: cats, score: 0.5)'
    >>> _sources_text({})
    'none (no candidate source proposes it)'
    """
    if not sources:
        return "none (no candidate source proposes it)"
    parts = []
    for name, evidence in sources.items():
        if isinstance(evidence, dict) and evidence:
            detail = ", ".join(f"{k}: {_words(v)}" for k, v in evidence.items())
            parts.append(f"{name} ({detail})")
        elif evidence in (None, {}, [], ""):
            parts.append(name)
        else:
            parts.append(f"{name} ({_words(evidence)})")
    return "; ".join(parts)


def _words(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_words(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _has_world() -> bool:
    if state.is_sqlite:
        return state.sqlite_path.exists()
    with state.open_store(create=True) as store:
        return store.count("accounts") > 0


@app.command()
def demo(
    out: Path = typer.Option(None, "--out", help="HTML page to write (default: next to the db)."),
    handle: str = typer.Option("me", "--user", help="Whose feeds to show."),
) -> None:
    """Build the demo world if missing, print the demo user's feeds and write an HTML page."""
    if not _has_world():
        from ..world import generate_world

        console.print(f"[bold]Generating the demo world into {state.db}[/] …")
        generate_world(state.db, size="demo")
    engine = _engine()
    sections = []
    for kind in ("timeline", "explore"):
        result = engine.feed(handle, k=10, kind=kind)
        console.print(feed_table(result))
        sections.append(feed_grid(result, engine.image_data_uri))
    tutorial = engine.feed(handle, k=10, kind="explore", ranker="tutorial")
    console.print(feed_table(tutorial, f"explore for @{lit(handle)} with the tutorial's formula"))
    ints = engine.interests(handle, k=8)
    table = Table(title=f"interests of @{lit(handle)}")
    table.add_column("hashtag")
    table.add_column("weight")
    table.add_column("best post")
    for it in ints:
        best = it.posts[0] if it.posts else None
        desc = f"{best.post_id} by @{lit(best.author)} (♥{best.like_count})" if best else "-"
        table.add_row(f"#{lit(it.tag)}", f"{it.weight:.3f}", desc)
    console.print(table)
    blend = engine.feed(handle, k=12, kind="blend")
    sections.insert(0, feed_grid(blend, engine.image_data_uri))
    target = out or Path(str(state.db) + ".demo.html")
    target.write_text(page(f"discovery-engine demo for @{handle}", sections), encoding="utf-8")
    console.print(f"\nHTML page with images and reasons: [bold]{target.resolve()}[/]")
    console.print(
        f"Browse it live: [bold]discovery --db {state.db} serve[/] then open "
        f"http://127.0.0.1:8000/u/{lit(quote(handle, safe=''))}/explore"
    )
