"""``discovery graph HANDLE --out ego.html|ego.png``: the network view as a file."""

from __future__ import annotations

from pathlib import Path

import typer

from ..engine import Engine
from ..errors import InputError
from ._common import app, console, state
from ._text import lit

__all__ = ["graph"]


@app.command()
def graph(
    handle: str = typer.Argument(..., help="Whose ego network."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="ego.html (interactive, standalone) or ego.png (matplotlib)."
    ),
    depth: int = typer.Option(2, "--depth", help="Follow hops to include (1, 2 or 3)."),
    max_nodes: int = typer.Option(150, "--max-nodes", help="Keep the accounts with top PPR."),
    posts: int = typer.Option(3, "--posts", help="Recent posts per account (HTML only)."),
) -> None:
    """Write the user's follow network (1st and 2nd degree): nodes sized by personalized
    PageRank, coloured by community, followed accounts outlined."""
    from ..web.network import network_view, node_posts

    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".png"):
        raise InputError(f"--out {out}: expected a .html or .png file name")
    if not 0 <= posts <= 12:
        raise InputError(f"--posts must be between 0 and 12, got {posts}")
    engine = Engine.open(state.db)
    ego = engine.ego_network(handle, depth=depth, max_nodes=max_nodes)
    if suffix == ".png":
        from ..web.standalone import network_png

        network_png(network_view(ego), out)
    else:
        from ..web.assets import graph_library_path, missing_library_message
        from ..web.standalone import file_image, network_html

        if graph_library_path() is None:
            raise InputError(missing_library_message())
        ids = [int(n["id"]) for n in ego["nodes"]]
        view = network_view(ego, node_posts(engine, ids, posts), file_image(engine.media_dir))
        out.write_text(network_html(view), encoding="utf-8")
    console.print(
        f"wrote the network of @{lit(ego['center'])} ({len(ego['nodes'])} accounts, "
        f"{len(ego['edges'])} follows) to [bold]{out}[/]"
    )
