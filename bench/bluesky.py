"""Bluesky connector figures: sync of a recorded ~2,000-account network through the fake AppView,
and Jetstream ingest from a local websocket replay (tests/fakes/bsky.py).

    .venv/bin/python bench/bluesky.py [--follows 44] [--posts 3] [--events 20000]
        [--backend sqlite|postgresql] [--no-resync]

The network: the actor follows ``F`` accounts, each of which follows ``F`` others (1 + F + F²
accounts; 1,981 for F = 44), each with ``P`` image posts. The sync runs at depth 2 with
``--max-follows F``. The Jetstream replay is ``E`` like events of synced accounts on synced posts
(plus 5 % of events from unknown DIDs, sent unfiltered and dropped), applied in batches of 500; the figure includes
refreshing an engine afterwards (the next feed sees the new likes). ``--backend postgresql``
runs the same against a throwaway cluster of tests/stores.py (``fsync=off``, as the tests).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from discovery.connectors.bluesky import Progress, SyncOptions, sync_bluesky
from discovery.connectors.jetstream import Consumer
from discovery.store import Store
from fakes.bsky import FakeAppView, FakeJetstream, Network, commit, tid

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def target(backend: str, tmp: str) -> Iterator[str]:
    """Where the store lives: a SQLite file, or a database of a throwaway PostgreSQL cluster."""
    if backend == "sqlite":
        yield str(Path(tmp) / "bench.db")
        return
    # tests/stores.py, loaded by path: bench/stores.py shadows its module name here
    spec = importlib.util.spec_from_file_location("_test_stores", ROOT / "tests" / "stores.py")
    assert spec is not None and spec.loader is not None
    stores = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stores)
    bindir = stores.pg_binaries()
    if bindir is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found")
    cluster = stores.PgCluster(bindir).start()
    try:
        yield cluster.database()
    finally:
        cluster.stop()


def network(f: int, p: int, now: float) -> Network:
    net = Network()
    first = [f"did:plc:a{i}" for i in range(1, f + 1)]
    net.add("did:plc:me", "me.test", "Me", first)
    n = f + 1
    for i, did in enumerate(first):
        second = [f"did:plc:a{n + i * f + j}" for j in range(f)]
        net.add(did, f"a{i + 1}.test", f"A{i + 1}", second)
        for d in second:
            net.add(d, f"{d[8:]}.test", d[8:].upper(), [])
    for k, did in enumerate(net.accounts):
        for j in range(p):
            net.post(
                did,
                f"post {j} #tag{k % 50} #t{j}",
                now - 3600 * (1 + j + k % 24),
                tags=(f"tag{k % 50}",),
            )
    return net


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--follows", type=int, default=44)
    ap.add_argument("--posts", type=int, default=3)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--no-resync", action="store_true", help="skip the second (no-op) sync")
    args = ap.parse_args()
    now = time.time()
    net = network(args.follows, args.posts, now)
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeAppView(net) as fake,
        target(args.backend, tmp) as db,
    ):
        print(f"backend: {args.backend}")
        opts = SyncOptions(
            service=fake.url,
            pds=fake.url,
            depth=2,
            max_follows=args.follows,
            max_posts=args.posts,
        )
        with Store.open(db) as store:
            t = time.perf_counter()
            summary = sync_bluesky(store, "me.test", opts, Progress())
            took = time.perf_counter() - t
            accounts, posts = store.count("accounts"), store.count("posts")
        print(
            f"sync: {accounts:,} accounts, {posts:,} posts, {summary.calls:,} requests in {took:.1f} s"
        )
        print(
            f"  {accounts / took:,.0f} accounts/s, {posts / took:,.0f} posts/s, {summary.calls / took:,.0f} requests/s"
        )
        if not args.no_resync:
            t = time.perf_counter()
            with Store.open(db) as store:
                sync_bluesky(store, "me.test", opts, Progress())
            print(f"re-sync (nothing new): {time.perf_counter() - t:.1f} s")

        dids = list(net.accounts)
        uris = [
            f"at://{a.did}/app.bsky.feed.post/{p.rkey}"
            for a in net.accounts.values()
            for p in a.posts
        ]
        t0 = int(now * 1e6)
        messages = []
        for n in range(args.events):
            did = f"did:plc:stranger{n}" if n % 20 == 0 else dids[n % len(dids)]
            record = {
                "subject": {"uri": uris[(n * 7919) % len(uris)], "cid": "x"},
                "createdAt": "2024-01-01T00:00:00Z",
            }
            messages.append(
                commit(
                    did,
                    t0 + n,
                    "create",
                    "app.bsky.feed.like",
                    tid(now - 600 + n / 1000, n % 1024),
                    record,
                )
            )
        from discovery.engine import Engine

        engine = Engine.open(db)
        likes_before = Store.open(db).count("interactions")
        with FakeJetstream(messages, filter_dids=False) as js, Store.open(db) as store:
            consumer = Consumer(store, js.url)
            t, cpu, own = time.perf_counter(), time.process_time(), time.thread_time()
            got = consumer.run(max_events=len(messages), seconds=300)
            ingest, cpu = time.perf_counter() - t, time.process_time() - cpu
            own = time.thread_time() - own  # the consumer's thread alone
            engine.refresh()
            visible = time.perf_counter() - t
        likes_after = Store.open(db).count("interactions")
        print(
            f"jetstream: {got.received:,} messages in {ingest:.2f} s = {got.received / ingest:,.0f} events/s"
            f" (applied {dict(got.applied)}, dropped {dict(got.dropped)})"
        )
        print(
            f"  CPU of this process (consumer and the replaying server thread): {cpu:.2f} s"
            f" = {got.received / cpu:,.0f} events per CPU second;"
            f" the consumer's thread alone {own:.2f} s = {got.received / own:,.0f} per CPU second"
        )
        print(
            f"  with the engine refreshed: {visible:.2f} s = {got.received / visible:,.0f} events/s;"
            f" interactions {likes_before:,} → {likes_after:,}"
        )


if __name__ == "__main__":
    main()
