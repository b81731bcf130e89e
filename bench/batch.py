"""Candidates for many users: local vs Ray with 1 and 2 workers, side by side in one run.

    .venv/bin/python bench/batch.py --db /tmp/large.db --users 2000 -k 200
    .venv/bin/python bench/batch.py --generate demo --users 2000      # builds a world first

For each engine the script times ``run_candidates`` on the same users (the first ``--users``
account indexes of a seeded shuffle) and checks that every run wrote the same rows. It also
measures what a projection to N machines needs: the serial part (snapshot load, user
preferences, writing the rows: the driver's share), the per-user compute time, the snapshot's
size in the object store (what each node receives once) and the arrays' memory per node.
Prints one JSON object; ``--table`` prints the Markdown table of bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only

from discovery.batch import run_candidates
from discovery.ranking.batch import FeedRequest
from discovery.seed import child_rng
from discovery.snapshot import load_snapshot
from discovery.store import Store


def _users(store: Store, n: int, seed: int) -> list[str]:
    snap = load_snapshot(store)
    order = child_rng(seed, "bench-batch").permutation(snap.n_accounts)[:n]
    return [str(snap.handle[i]) for i in np.sort(order)]


def _rows(store: Store, kind: str) -> list[tuple[object, ...]]:
    """Every stored list of ``kind``, compared by its packed posts and scores."""
    return [
        (x.account, x.posts.tobytes(), x.scores.tobytes()) for x in store.precomputed_lists(kind)
    ]


def _machine_cpu_s() -> float:
    """Busy CPU seconds of the whole machine so far (user + nice + system + irq + softirq of
    every core, from ``/proc/stat``; 0 where it does not exist): with the driver's own CPU time
    it tells what share of the cores the workers got."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    busy = sum(int(fields[i]) for i in (0, 1, 2, 5, 6))
    return busy / os.sysconf("SC_CLK_TCK")


def _steady(arrivals: list[tuple[float, int, float, float]]) -> dict[str, float]:
    """When the first block came back (the fixed part: loading, the object store, each
    worker's first indexes) and, per user after it, the wall time, the driver's CPU time and
    the machine's busy CPU time: slopes from the end of the first quarter of the run (which
    leaves out the workers' start) to its end."""
    if len(arrivals) < 8:
        return {}
    (t0, u0, c0, m0), (t1, u1, c1, m1) = arrivals[len(arrivals) // 4], arrivals[-1]
    users = max(u1 - u0, 1)
    return {
        "first_block_s": round(arrivals[0][0], 1),
        "steady_ms_per_user": round((t1 - t0) / users * 1e3, 2),
        "steady_driver_cpu_ms_per_user": round((c1 - c0) / users * 1e3, 2),
        "steady_machine_cpu_ms_per_user": round((m1 - m0) / users * 1e3, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", help="A generated world (copied per run is not needed: runs replace)")
    ap.add_argument("--generate", choices=("tiny", "demo"), help="Generate a world of this size")
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("-k", type=int, default=200)
    ap.add_argument("--kind", default="explore")
    ap.add_argument("--block", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--engines",
        default="local,ray1,ray2",
        help="comma-separated: local, ray1, ray2 (one node, 1 or 2 CPUs), nodes2 (2 nodes x 1 CPU)",
    )
    ap.add_argument("--out", type=Path, help="Write the JSON here too")
    args = ap.parse_args()
    if not args.db and not args.generate:
        ap.error("--db or --generate")
    db = args.db
    if args.generate:
        from discovery.world import generate_world

        db = str(Path(tempfile.mkdtemp()) / f"{args.generate}.db")
        generate_world(db, size=args.generate, images=False, seed=args.seed)
    request = FeedRequest(args.kind, args.k)
    result: dict[str, object] = {"db": db, "users": args.users, "k": args.k, "kind": args.kind}
    with Store.open(db) as store:
        users = _users(store, args.users, args.seed)
        t = time.perf_counter()
        snap = load_snapshot(store)
        result["snapshot_load_s"] = round(time.perf_counter() - t, 3)
        bare = dataclasses.replace(snap)
        result["object_store_bytes"] = len(pickle.dumps(bare, protocol=5))
        result["array_bytes"] = int(
            sum(v.nbytes for v in vars(bare).values() if isinstance(v, np.ndarray))
        )
        result["accounts"], result["posts"] = snap.n_accounts, snap.n_posts
        runs: dict[str, dict[str, float]] = {}
        reference = None
        for engine in args.engines.split(","):
            workers = {"local": 1, "ray1": 1, "ray2": 2, "nodes2": 2}[engine]
            startup, cluster = 0.0, None
            if engine != "local":  # start the cluster outside the timed job
                import ray

                t = time.perf_counter()
                if engine == "nodes2":  # two Ray nodes (two object stores) of one CPU each
                    from ray.cluster_utils import Cluster

                    cluster = Cluster(
                        initialize_head=True,
                        head_node_args={"num_cpus": 1, "include_dashboard": False},
                    )
                    cluster.add_node(num_cpus=1)
                    ray.init(address=cluster.address, log_to_driver=False)
                else:
                    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
                startup = time.perf_counter() - t
            t, cpu, machine = time.perf_counter(), time.process_time(), _machine_cpu_s()
            # (seconds since the start, users done, the driver's CPU seconds, the machine's)
            arrivals: list[tuple[float, int, float, float]] = []

            def progress(done: int, total: int, t: float = t, at: list = arrivals) -> None:
                at.append((time.perf_counter() - t, done, time.process_time(), _machine_cpu_s()))

            summary = run_candidates(
                store,
                engine="local" if engine == "local" else "ray",
                workers=workers,
                users=users,
                request=request,
                block_size=args.block,
                progress=progress,
            )
            wall = time.perf_counter() - t
            driver_cpu = time.process_time() - cpu
            machine_cpu = _machine_cpu_s() - machine
            if engine != "local":
                ray.shutdown()
            if cluster is not None:
                cluster.shutdown()
            rows = _rows(store, args.kind)
            if reference is None:
                reference = rows
            runs[engine] = {
                "wall_s": round(wall, 2),
                "cluster_start_s": round(startup, 1),
                "users_per_s": round(len(users) / wall, 1),
                "rows": summary.rows,
                **_steady(arrivals),
                "driver_cpu_s": round(driver_cpu, 1),
                "machine_cpu_s": round(machine_cpu, 1),
                "same_rows_as_first": rows == reference,
            }
            print(engine, runs[engine], file=sys.stderr, flush=True)
        result["runs"] = runs
        if "ray1" in runs and "nodes2" in runs:
            result["speedup_1_to_2_nodes"] = round(
                runs["ray1"]["wall_s"] / runs["nodes2"]["wall_s"], 2
            )
        if "ray1" in runs and "ray2" in runs:
            t1, t2 = runs["ray1"]["wall_s"], runs["ray2"]["wall_s"]
            result["speedup_1_to_2"] = round(t1 / t2, 2)
            # Amdahl: t2 = t1 (s + (1 - s) / 2)  =>  s = 2 t2 / t1 - 1
            result["serial_fraction"] = round(max(0.0, 2 * t2 / t1 - 1), 3)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
