"""``discovery embed``: image and caption vectors for posts that have none yet."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..errors import InputError
from ._common import app, console, err_console, state

if TYPE_CHECKING:
    from ..embeddings.encoders import Encoder
    from ..store import Store

__all__ = ["embed_command"]


@app.command("embed")
def embed_command(
    images: bool = typer.Option(False, "--images", help="Embed images (the default)."),
    text: bool = typer.Option(False, "--text", help="Embed captions and hashtags."),
    model: str = typer.Option(
        "",
        "--model",
        help="efficientnet-lite0 (images), minilm (text), fake-image or fake-text"
        " (default: the real model of each kind asked for).",
    ),
    batch: int = typer.Option(64, "--batch", help="Posts encoded per batch (and per commit)."),
    limit: int = typer.Option(0, "--limit", help="Stop after this many posts (0: all)."),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds per image download."),
    backend: str = typer.Option(
        "onnx", "--backend", help="Image model runtime: onnx (faster here) or torch."
    ),
) -> None:
    """Give every post without a vector one, for "more like this": images by
    EfficientNet-Lite0, captions and hashtags by all-MiniLM-L6-v2 (the embed extra; nothing is
    downloaded); a text model also embeds the hashtag names, which the hashtag clusters then
    use besides co-occurrence. Incremental: a second run embeds only new posts and names. Images that cannot be read
    (missing file, HTTP error, timeout, not an image) are counted and tried again next run."""
    from ..embeddings.encoders import get_encoder

    if batch < 1:
        raise InputError(f"--batch must be at least 1, got {batch}")
    if limit < 0:
        raise InputError(f"--limit must be 0 or more, got {limit}")
    if backend not in ("onnx", "torch"):
        raise InputError(f"--backend must be onnx or torch, got {backend!r}")
    if model:
        names = [model]
    else:
        names = (["efficientnet-lite0"] if images or not text else []) + (["minilm"] * text)
    store = state.open_store()
    try:
        media = Path(str(store.path) + ".media")
        for name in names:
            options = {"backend": backend} if name.startswith(("image", "efficientnet")) else {}
            encoder = get_encoder(name, **options)
            _embed_one(store, encoder, media, batch, limit, timeout)
            if encoder.kind == "text":
                _embed_tag_names(store, encoder)
    finally:
        store.close()


def _embed_tag_names(store: Store, encoder: Encoder) -> None:
    """The hashtag names without a vector of this model, for the hashtag clusters."""
    from ..embeddings.tags import embed_tags, load_tag_vectors

    names = store.hashtag_names()
    added = embed_tags(store, encoder, names)
    held = load_tag_vectors(store)
    console.print(
        f"{encoder.name}: {added:,} new hashtag names embedded"
        f" ({0 if held is None else len(held):,} with a vector of {len(names):,})",
        markup=False,
        highlight=False,
    )


def _embed_one(
    store: Store, encoder: Encoder, media: Path, batch: int, limit: int, timeout: float
) -> None:
    """One model's run: a progress bar on stderr (none in a pipe), then a one-line summary."""
    from ..embeddings.batch import embed_posts

    todo = store.count_to_embed(encoder.name)
    total = min(todo, limit) if limit else todo
    bar = Progress(
        TextColumn(encoder.name, markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    with bar if err_console.is_terminal else contextlib.nullcontext():
        task = bar.add_task("embedding", total=total)
        summary = embed_posts(
            store,
            encoder,
            media,
            batch=batch,
            limit=limit or None,
            timeout=timeout,
            progress=lambda n: bar.advance(task, n),
        )
    failed = ", ".join(f"{n:,} {why}" for why, n in sorted(summary.failed.items()))
    console.print(
        f"{encoder.name}: embedded {summary.embedded:,} of {total:,} posts in "
        f"{summary.seconds:.1f} s ({summary.per_second:.1f}/s)"
        + (f"; skipped {failed}" if failed else ""),
        markup=False,
        highlight=False,
    )
