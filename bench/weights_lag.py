"""What the like-weighted follow graph's lag costs, on the world's own likes.

``bench/staleness.py --weights-shares`` streams the load test's events, whose likes land on
random posts: few of them on a post of an account the liker follows, the only ones that move an
edge weight, so it cannot see the lag. Here the lag is the log's own history instead: for each
share, the weighted graph (and its PageRank index) of an engine is built from the engagement
pairs of the log without its newest ``share`` of rows — what a server holds when the graph's lag
(``WEIGHTS_LAG``: 5 % + 1,000 rows) is about to run out — while everything else, the user's own
new follows' weights included, reads the whole log. The served top-20 of 300 random accounts
is compared with an engine that reads the whole log everywhere.

Run: ``python bench/weights_lag.py --db demo.db [--shares 0.02,0.1,0.3]``
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

import numpy as np

from discovery.engine import Engine
from discovery.ranking import affinity


def lagged_engine(db: Path, share: float) -> Engine:
    """An engine whose like-weighted graph misses the log's newest ``share`` of rows."""
    engine = Engine.open(db)
    snap = engine.snapshot
    # the newest rows by time (a generated log is stored in the generator's order, not time's)
    keep = np.argsort(snap.inter_time, kind="stable")[: int(len(snap.inter_user) * (1 - share))]
    key, weight = affinity._pairs(
        snap, snap.inter_user[keep], snap.inter_post[keep], snap.inter_kind[keep]
    )
    old = (key // snap.n_accounts, key % snap.n_accounts, weight)
    current = affinity.engagement_pairs
    affinity.engagement_pairs = lambda s: old  # type: ignore[assignment]
    try:
        affinity.follow_adjacency(snap, True)  # built once, on the older pairs, and kept
    finally:
        affinity.engagement_pairs = current  # type: ignore[assignment]
    return engine


def overlap(a: list[int], b: list[int]) -> float:
    return len(set(a) & set(b)) / max(len(a), len(b), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("demo.db"))
    parser.add_argument("--shares", default="0.02,0.05,0.1,0.3")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    fresh = Engine.open(args.db)
    handles = [str(h) for h in fresh.snapshot.handle]
    users = random.Random(args.seed).sample(handles, min(args.users, len(handles)))
    want = {
        (u, kind): [i.post_id for i in fresh.feed(u, k=20, kind=kind)]
        for u in users
        for kind in ("explore", "blend")
    }
    rows: list[dict[str, Any]] = []
    shares = [float(s) for s in args.shares.split(",")]
    if not all(0.0 <= s < 1.0 for s in shares):  # NaN fails too
        raise SystemExit(f"--shares: shares of the log in [0, 1), not {args.shares!r}")
    for share in shares:
        engine = lagged_engine(args.db, share)
        row: dict[str, Any] = {"share": share}
        for kind in ("explore", "blend"):
            got = [[i.post_id for i in engine.feed(u, k=20, kind=kind)] for u in users]
            pairs = [(g, want[(u, kind)]) for u, g in zip(users, got, strict=True)]
            row[f"{kind}_overlap"] = round(float(np.mean([overlap(a, b) for a, b in pairs])), 4)
            row[f"{kind}_identical"] = round(float(np.mean([a == b for a, b in pairs])), 3)
        rows.append(row)
        print(row, flush=True)
        engine.store.close()
    fresh.store.close()


if __name__ == "__main__":
    main()
