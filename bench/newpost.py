"""What a new post or account, or an unlike, costs the next page: the structures extended or
caught up (now) against rebuilt.

    python bench/newpost.py --db large.db [--what post|account|unlike] [--posts 4] [--json out.json]

One process, a warmed engine (as a ``serve`` worker). ``--posts`` rounds each way, in three
blocks — extend, rebuild, extend (the machine drifts; and extensions are amortised over
consecutive posts, which alternating with rebuilds would defeat):

- *extend* (what the engine does): a post (or, with ``--what account``, a sign-up) is written
  to the store, the engine catches up, and the structures declared with ``Grows("posts")``
  (``Grows("accounts")``) take the new row in on their next use;
- *rebuild* (before): the same, then every structure that grows with that table is dropped,
  as a catch-up did when they declared it an exact input, so the next page rebuilds them.

With ``--what unlike`` the engine rebuilds beside, as ``serve``'s does: one of the user's likes
is withdrawn; *extend* keeps serving the interaction log's structures, marked stale, while the
rebuild thread catches them up (its seconds are reported after the pages), and *rebuild* drops
them, as every unlike did before, so the next page builds them over the whole log.

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
from discovery.store.model import KIND_CODE
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
    if what == "unlike":
        return unlike_once(engine, author, rebuild)
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


def unlike_once(engine: Engine, user: int, rebuild: bool) -> dict[str, Any]:
    """Withdraw one of ``user``'s likes and catch up: the log's structures marked stale and
    caught up beside (or, ``rebuild``, dropped as before)."""
    snap, store = engine.snapshot, engine.store
    mine = snap.user_interactions(user)
    liked = mine[snap.inter_kind[mine] == KIND_CODE["like"]]
    if not len(liked):
        raise SystemExit(f"account {int(snap.account_id[user])} has no like left to withdraw")
    post = int(snap.post_id[snap.inter_post[liked[-1]]])
    with store.transaction():
        store.remove_interactions([(int(snap.account_id[user]), post, "like")])
    snap.derived.beside = not rebuild  # before: a withdrawal dropped what reads the log
    t = time.perf_counter()
    engine.refresh()
    catch_up = (time.perf_counter() - t) * 1000
    snap.derived.beside = True
    return {"catch_up_ms": catch_up, "stale": sorted(snap.derived.stale())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--what", choices=("post", "account", "unlike"), default="post")
    ap.add_argument("--posts", type=int, default=4, help="rounds in each block")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    t = time.perf_counter()
    engine = Engine.open(args.db)
    warm_up(engine)
    rebuilder = engine.rebuild_beside() if args.what == "unlike" else None
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
        if rebuilder is not None:  # the catch-up beside, after the pages served meanwhile
            done = rebuilder.done
            rebuilder.wait()
            row["beside_s"] = rebuilder.last_seconds if rebuilder.done > done else None
        rounds.append(row)
        print(f"{way:8} catch-up {row['catch_up_ms']:6.0f} ms   first page "
              f"{times[0]:7.0f} ms   then p50 {row['then_p50_ms']:4.0f} ms"
              f"   beside {row.get('beside_s')}", flush=True)  # fmt: skip
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
