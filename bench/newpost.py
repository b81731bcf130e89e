"""What a new post or account costs the next page: the structures extended (now) against
rebuilt.

    python bench/newpost.py --db large.db [--what post|account] [--posts 4] [--json out.json]

One process, a warmed engine (as a ``serve`` worker). ``--posts`` rounds each way, in three
blocks — extend, rebuild, extend (the machine drifts; and extensions are amortised over
consecutive posts, which alternating with rebuilds would defeat):

- *extend* (what the engine does): a post (or, with ``--what account``, a sign-up) is written
  to the store, the engine catches up, and the structures declared with ``Grows("posts")``
  (``Grows("accounts")``) take the new row in on their next use;
- *rebuild* (before): the same, then every structure that grows with that table is dropped,
  as a catch-up did when they declared it an exact input, so the next page rebuilds them.

Each round times the catch-up, the first served blend page after it (the feed and the features
its impressions log, as ``serve`` does) and the median of the nine pages after that, for the
ten most active users. **It adds posts or accounts to the database it is given** (one per
round; posts by the most active accounts, dated at the snapshot's clock).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from discovery.engine import Engine
from discovery.signals.features import served_features
from discovery.warmup import warm_up


def page(engine: Engine, user: int) -> float:
    """Milliseconds for one served blend page."""
    t = time.perf_counter()
    served_features(engine, user, engine.feed(user, k=20, kind="blend").items)
    return (time.perf_counter() - t) * 1000


def write_once(
    engine: Engine, author: int, n: int, rebuild: bool, what: str = "post"
) -> dict[str, Any]:
    """Write one post (or account), catch up, (drop what grows with it,) and time the pages
    after."""
    snap, store = engine.snapshot, engine.store
    with store.transaction():
        if what == "post":
            caption = f"a new plate #food #dinner #bench{n}"
            pid = int(snap.post_id.max()) + 1
            store.add_posts([(pid, int(snap.account_id[author]), int(snap.now), caption,
                              "photo", None, 0, 0)])  # fmt: skip
        else:
            aid = int(snap.account_id.max()) + 1
            store.add_accounts([(aid, f"bench_{aid}", "Bench", "person", int(snap.now))])
    t = time.perf_counter()
    engine.refresh()
    catch_up = (time.perf_counter() - t) * 1000
    dropped: list[str] = []
    if rebuild:
        table = "posts" if what == "post" else "accounts"
        growing = [k for k in snap.derived if table in snap.derived.entry(k).grows]  # type: ignore[union-attr]
        for key in growing:
            dropped += snap.derived.drop(key)
    return {"catch_up_ms": catch_up, "dropped": sorted(set(dropped))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--what", choices=("post", "account"), default="post")
    ap.add_argument("--posts", type=int, default=4, help="rounds in each block")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    t = time.perf_counter()
    engine = Engine.open(args.db)
    warm_up(engine)
    snap = engine.snapshot
    print(f"opened and warmed in {time.perf_counter() - t:.0f} s", flush=True)
    counts = np.bincount(snap.inter_user, minlength=snap.n_accounts)
    users = np.argsort(-counts)[:10].tolist()
    before = [page(engine, u) for u in users]
    rounds: list[dict[str, Any]] = []
    blocks = [way for way in ("extend", "rebuild", "extend") for _ in range(args.posts)]
    for n, way in enumerate(blocks):
        row = write_once(engine, users[n % len(users)], n, way == "rebuild", args.what)
        times = [page(engine, u) for u in users]
        row.update(way=way, first_page_ms=times[0], then_p50_ms=statistics.median(times[1:]))
        rounds.append(row)
        print(f"{way:8} catch-up {row['catch_up_ms']:6.0f} ms   first page "
              f"{times[0]:7.0f} ms   then p50 {row['then_p50_ms']:4.0f} ms", flush=True)  # fmt: skip
    out = {
        "db": args.db,
        "what": args.what,
        "accounts": snap.n_accounts,
        "posts": snap.n_posts,
        "hashtag_links": len(snap.tag_post),
        "pages_before_p50_ms": statistics.median(before),
        "rounds": rounds,
        "first_page_p50_ms": {
            way: statistics.median(r["first_page_ms"] for r in rounds if r["way"] == way)
            for way in ("extend", "rebuild")
        },
    }
    print(json.dumps(out["first_page_p50_ms"]))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
