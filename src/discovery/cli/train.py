"""``discovery train als``, ``discovery train ranker`` and ``discovery clusters``.

Training reads the store's snapshot and saves a versioned artifact in the store (table
``artifacts``); engines opened afterwards load the newest version (``discovery feed``,
``discovery serve``). ``discovery clusters`` prints the hashtag clusters interests are made of.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from .. import setops
from ..errors import InputError
from ._common import app, console, state
from ._text import lit

__all__: list[str] = []

train_app = typer.Typer(
    help="Train the learned signals (ALS, the learned ranker) and save them in the store.",
    no_args_is_help=True,
)
app.add_typer(train_app, name="train")


@train_app.command("als")
def train_als_command(
    factors: int = typer.Option(32, "--factors", help="Latent factors per user and post."),
    iterations: int = typer.Option(15, "--iterations", help="ALS sweeps."),
    regularization: float = typer.Option(0.1, "--regularization", help="λ, the L2 penalty."),
    alpha: float = typer.Option(1.0, "--alpha", help="Confidence per unit of engagement."),
    views: float = typer.Option(
        1.0, "--views", help="Weight of a view (times log(1 + plays) when it has a count); 0: none."
    ),
    weighting: str = typer.Option(
        "none", "--weighting", help="Reweight engagement first: none, bm25 or tfidf."
    ),
    keep: int = typer.Option(5, "--keep", help="Versions of the artifact to keep."),
) -> None:
    """Fit implicit-feedback ALS on every like, comment, save, share and tag, and save it as
    the next version of the `als` artifact (rows keyed by external keys). Feeds then propose
    posts liked by people with your taste (the `als` source of explore)."""
    from ..signals.als import ALSParams, save_als
    from ..snapshot import load_snapshot

    if not 1 <= factors <= 512:
        raise InputError(f"--factors must be between 1 and 512, got {factors}")
    if not 1 <= iterations <= 200:
        raise InputError(f"--iterations must be between 1 and 200, got {iterations}")
    if not (0 <= regularization <= 1e6 and 0 < alpha <= 1e6 and 0 <= views <= 1e6):
        raise InputError(
            "--regularization and --views must be 0-1e6 and --alpha above 0, at most 1e6"
        )
    if weighting not in ("none", "bm25", "tfidf"):
        raise InputError(f"--weighting: expected none, bm25 or tfidf, got {weighting!r}")
    if keep < 1:
        raise InputError(f"--keep must be at least 1, got {keep}")
    with state.open_store() as store:
        snap = load_snapshot(store)
        if not (snap.inter_kind.size and snap.n_posts):
            raise InputError(f"{state.db}: no interactions to learn from")
        params = ALSParams(
            factors, iterations, regularization, alpha, views=views, weighting=weighting
        )
        version, model = save_als(store, snap, params)
        store.prune_artifacts("als", keep)
    m = model.meta
    console.print(
        f"als version {version}: {m['users']:,} users × {m['posts']:,} posts, "
        f"{m['nonzeros']:,} engagements, {factors} factors, {m['seconds']:.1f} s"
    )


@app.command("clusters")
def clusters_command(
    top: int = typer.Option(30, "--top", help="Show the clusters with the most posts."),
    members: int = typer.Option(8, "--members", help="Member tags shown per cluster."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per cluster."),
) -> None:
    """The hashtag clusters interests are made of: variants, synonyms and emoji tags of one
    interest grouped by how they are used together (head tag first, most used members)."""
    import numpy as np

    from ..signals.clusters import snapshot_clusters
    from ..snapshot import load_snapshot

    if top < 1 or members < 1:
        raise InputError("--top and --members must be at least 1")
    with state.open_store() as store:
        snap = load_snapshot(store)
    clusters = snapshot_clusters(snap)
    per_tag = np.diff(snap.post_tags_matrix().tocsc().indptr)
    posts = np.bincount(clusters.cluster_of(np.arange(snap.n_tags)), weights=per_tag)
    order = np.lexsort((np.arange(len(posts)), -posts))[:top]
    rows: list[tuple[list[str], int]] = []
    for c in order.tolist():
        head = int(clusters.heads(np.array([c]))[0])
        tags = [str(snap.tag_name[t]) for t in clusters.members_of(head).tolist()]
        rows.append((tags, int(posts[c])))
    if as_json:
        for tags, n in rows:
            row = {"head": tags[0], "members": tags, "posts": n}
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table(title=f"{clusters.n_clusters:,} clusters of {snap.n_tags:,} hashtags")
    table.add_column("interest")
    table.add_column("tag uses", justify="right")
    table.add_column("members")
    for tags, n in rows:
        shown = tags[1 : members + 1]
        more = len(tags) - 1 - len(shown)
        text = " ".join(f"#{lit(t)}" for t in shown) + (f" (+{more})" if more > 0 else "")
        table.add_row(f"#{lit(tags[0])}", f"{n:,}", text)
    console.print(table)


@train_app.command("ranker")
def train_ranker_command(
    source: str = typer.Option(
        "auto",
        "--from",
        help="Training lists: log (the server's impression log), impressions (a world's "
        "impression history), candidates (the engine's candidates at daily cuts), or auto: "
        "the first of these the store has.",
    ),
    days: int = typer.Option(14, "--days", help="Days of history before now to learn from."),
    users: int = typer.Option(200, "--users", help="Users sampled (0: all)."),
    horizon_hours: float = typer.Option(
        24.0, "--horizon-hours", help="What a user did this long after an impression counts."
    ),
    rounds: int = typer.Option(150, "--rounds", help="Boosting rounds at most."),
    objective: str = typer.Option(
        "lambdarank",
        "--objective",
        help="lambdarank (graded lists), or engage: P(engage) with a hide penalty.",
    ),
    hide_penalty: float = typer.Option(
        4.0, "--hide-penalty", help="engage: a hide weighs 1 + this many ignored posts."
    ),
    keep: int = typer.Option(5, "--keep", help="Versions of the artifact to keep."),
) -> None:
    """Fit the learned ranker (LightGBM LambdaRank, or P(engage) with a hide penalty) on
    served lists and what followed them — hidden, ignored, liked, commented or saved — with
    the latest fifth of the lists held out by time for early stopping, and save it as the
    next version of the `ranker` artifact. Feeds use it with --ranker learned."""
    from ..signals.learned import RankerParams, describe, save_ranker, train_ranker

    if source not in ("auto", "log", "impressions", "candidates"):
        raise InputError(f"--from: expected auto, log, impressions or candidates, got {source!r}")
    if not 1 <= days <= 3650 or users < 0 or not 0 < horizon_hours <= 24 * 365:
        raise InputError("--days must be 1-3650, --users >= 0 and --horizon-hours > 0")
    if not 1 <= rounds <= 10_000 or keep < 1:
        raise InputError("--rounds must be 1-10000 and --keep at least 1")
    if objective not in ("lambdarank", "engage"):
        raise InputError(f"--objective: expected lambdarank or engage, got {objective!r}")
    if not 0 <= hide_penalty <= 1e6:
        raise InputError(f"--hide-penalty must be 0-1e6, got {hide_penalty}")
    horizon = int(horizon_hours * 3600)
    with state.open_store() as store:
        kind, examples = ranker_examples(store, source, days, users, horizon)
        params = RankerParams(objective=objective, rounds=rounds, hide_penalty=hide_penalty)
        model = train_ranker(examples, params)
        model.meta["trained_from"] = kind
        version = save_ranker(store, model)
        store.prune_artifacts("ranker", keep)
    m = model.meta
    valid = "-" if m["valid_ndcg10"] is None else f"{m['valid_ndcg10']:.3f}"
    console.print(
        f"ranker version {version} from {kind}: {m['lists']:,} lists, {m['rows']:,} rows, "
        f"{m['trees']} trees, validation NDCG@10 {valid}, {m['seconds']:.1f} s{describe(m)}",
        markup=False,
    )


def ranker_examples(
    store: Any, source: str, days: int, users: int, horizon: int
) -> tuple[str, Any]:
    """The training lists of ``discovery train ranker --from SOURCE`` and which source gave
    them: ``log``, ``impressions``, ``candidates`` or ``auto`` (the first the store has)."""
    import numpy as np

    from ..signals.training import examples_at_cut, examples_from_impressions, impressions_of
    from ..snapshot import load_snapshot
    from ..store.model import KIND_CODE

    snap = load_snapshot(store)
    since = snap.now - days * 86_400
    logged = bool(store.impressions()) if source in ("auto", "log") else False
    shown = (snap.inter_kind == KIND_CODE["impression"]).any()
    if source == "log" and not logged:
        raise InputError(f"{state.db}: the impression log is empty")
    if source == "impressions" and not shown:
        raise InputError(f"{state.db}: no impression interactions")
    kind = (
        source
        if source != "auto"
        else ("log" if logged else "impressions" if shown else "candidates")
    )
    if kind == "candidates":
        gen = np.random.default_rng(42)
        active = setops.unique(snap.inter_user)
        pick = (
            active
            if not users or len(active) <= users
            else gen.choice(active, users, replace=False)
        )
        cuts = [snap.now - horizon * (i + 1) for i in range(max(1, days * 86_400 // horizon))]
        parts = [examples_at_cut(snap, c, np.sort(pick), horizon) for c in cuts[::-1]]
        from ..signals.learned import Examples

        examples = Examples.concat([p for p in parts if len(p)] or parts[:1])
    else:
        u, p, t = impressions_of(snap, store if kind == "log" else None, since=since, users=users)
        examples = examples_from_impressions(snap, u, p, t, horizon)
    if len(examples) == 0 or examples.labels.max() < 2:
        raise InputError(f"{state.db}: nothing was engaged with in the training lists")
    return kind, examples
