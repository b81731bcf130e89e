"""What impression logging and experiments cost a served explore page.

    python bench/experiments.py [--db bench-exp.db] [--size demo] [--users 200] [--backends sqlite,postgresql]

On a generated world (made first when the file does not exist; images off), the server's own
view function (``discovery.service.views.feed_view``, what ``GET /v1/users/{h}/feed`` and the
pages run, minus HTTP) serves explore pages of 10 to ``--users`` users drawn with the project's
seed helper, in four conditions visited in turn for each user, after one untimed page that
caches the user's PPR, in an order that rotates from user to user (so machine load and caches
favour none of them):

- ``no log``: impression logging replaced by a no-op (the cost of the feed alone);
- ``log``: as served, one multi-row INSERT of the page's impressions;
- ``A/B``: an A/B experiment (default vs default+window_days=8) running: the lookup of the
  running experiment, the arm's settings, logging;
- ``interleaved``: default vs tutorial interleaved: both rankers rank, team draft merges.

It also times ``Store.log_impressions`` of one 10-row page alone, beside a one-row indexed read
(the backend's round trip on this machine, for scale). PostgreSQL runs on a
throwaway cluster (tests/stores.py). Results are printed as a Markdown table (ms per page).
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from discovery.experiments.report import create_experiment
from discovery.seed import rng
from discovery.service import views
from discovery.service.state import Service
from discovery.store import Store
from discovery.store.experiments import ImpressionRow

ROOT = Path(__file__).resolve().parents[1]


def _pg_cluster() -> Any:
    spec = importlib.util.spec_from_file_location("_test_stores", ROOT / "tests" / "stores.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PgCluster(module.require_pg()).start()


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def bench(url: str, n_users: int) -> list[tuple[str, list[float]]]:
    service = Service(url)
    engine = service.engine
    snap = engine.snapshot
    active = np.flatnonzero(np.bincount(snap.follow_src, minlength=snap.n_accounts) > 0)
    users = [str(snap.handle[u]) for u in rng(7).choice(active, min(n_users, len(active)), False)]
    real_log = views.log_impressions

    def no_log() -> None:
        views.log_impressions = lambda service, rows: None  # type: ignore[assignment]

    def log() -> None:
        views.log_impressions = real_log

    made = iter(range(time.time_ns(), 10**30))  # fresh names, run after run

    def stop_all() -> None:
        with Store.open(url) as store:
            for running in store.experiments(running=True):
                store.stop_experiment(running.name)

    def experiment(name: str, arms: list[str], interleave: bool) -> Callable[[], None]:
        def start() -> None:
            stop_all()
            log()
            with Store.open(url) as store:
                create_experiment(store, f"{name}-{next(made)}", arms, interleave=interleave, now=0)

        return start

    conditions: list[tuple[str, Callable[[], None]]] = [
        ("no log", lambda: (stop_all(), no_log())),  # type: ignore[func-returns-value]
        ("log", lambda: (stop_all(), log())),  # type: ignore[func-returns-value]
        ("A/B", experiment("bench-ab", ["default", "window_days=8"], False)),
        ("interleaved", experiment("bench-il", ["default", "tutorial"], True)),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in conditions}
    for _name, setup in conditions:  # warm every path once (compile, caches)
        setup()
        views.feed_view(service, users[0], "explore", 10)
        views.feed_view(service, users[1], "explore", 10)
    for i, user in enumerate(users):
        views.feed_view(service, user, "explore", 10)  # untimed: the user's PPR is cached
        # the order rotates per user, so no condition is always first after a setup
        for name, setup in conditions[i % 4 :] + conditions[: i % 4]:
            setup()
            service.catch_up()  # the setup's writes: not part of the page's time
            t = time.perf_counter()
            views.feed_view(service, user, "explore", 10)
            times[name].append(time.perf_counter() - t)
    stop_all()
    log()
    insert: list[float] = []
    trip: list[float] = []  # one indexed one-row read: the backend's round trip on this machine
    with Store.open(url) as store:
        rows = [
            ImpressionRow(1, p, 0, "bench", p, "r", "", "", "default", 0.5, "{}") for p in range(10)
        ]
        for _ in range(200):
            t = time.perf_counter()
            store.log_impressions(rows)
            insert.append(time.perf_counter() - t)
            t = time.perf_counter()
            store.get_meta("schema_version")
            trip.append(time.perf_counter() - t)
    service.close()
    return [
        *((name, times[name]) for name, _ in conditions),
        ("10-row INSERT alone", insert),
        ("one-row SELECT (round trip)", trip),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", type=Path, default=Path("bench-exp.db"))
    ap.add_argument("--size", default="demo")
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    from discovery.world import generate_world

    if not args.db.exists():
        generate_world(args.db, size=args.size, images=False)
    urls = {"sqlite": str(args.db)}
    cluster = None
    if "postgresql" in args.backends:
        from discovery.store.copy import copy_store

        cluster = _pg_cluster()
        urls["postgresql"] = cluster.database()
        with Store.open(args.db) as src, Store.open(urls["postgresql"]) as dst:
            copy_store(src, dst)
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    print("\n| backend | condition | p50 ms | p90 ms | p99 ms | mean ms | pages |")
    print("|---|---|---|---|---|---|---|")
    try:
        for backend in args.backends.split(","):
            for name, values in bench(urls[backend], args.users):
                print(
                    f"| {backend} | {name} | {_pct(values, 50):.2f} | {_pct(values, 90):.2f} |"
                    f" {_pct(values, 99):.2f} | {statistics.mean(values) * 1000:.2f} |"
                    f" {len(values)} |"
                )
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
