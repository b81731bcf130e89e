"""Benchmark: approximate nearest neighbours — usearch, hnswlib and faiss-cpu side by side.

The same unit vectors — clustered (a mixture of ``--clusters`` Gaussian blobs on the sphere,
like embeddings of photos of a few thousand subjects) or, with ``--clusters 0``, uniformly
random; seeded by ``discovery.seed`` — go into an HNSW index of each library for every graph
degree ``--m`` and build effort ``--ef-construction`` given. For each search effort ``ef`` the
script reports recall@10 against the exact answer (a numpy matrix product over all vectors, on
the ``--queries`` query sample) and single-query latency (one thread, one query at a time,
like one feed request): p50 and p99 of wall time, and of the thread's CPU time — on a shared
machine wall time includes time spent descheduled, CPU time does not. Queries are drawn from
the same distribution but are not in the index. Each build reports its time (``--threads``
threads), the growth of the process's resident memory, hnswlib's serialised size, and the
1-minute load average when it started and ended.

    python bench/ann.py --n 100000 --libraries hnswlib --m 8,16,32 --ef-construction 64,128
    python bench/ann.py --n 1000000 --libraries hnswlib --m 16 --ef-construction 128  # ~5 GB
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from discovery.embeddings.ann import recall_at_k
from discovery.seed import rng

K = 10


def clustered(n: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    """``n`` unit vectors around ``clusters`` random centres (noise 0.6 of a centre's norm);
    ``clusters = 0``: uniformly random on the sphere (the hardest case for a graph index)."""
    gen = rng(seed)
    centres = gen.standard_normal((max(clusters, 1), dim)).astype(np.float32)
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        noise = gen.standard_normal((stop - start, dim)).astype(np.float32)
        if clusters > 0:
            x = centres[gen.integers(0, clusters, stop - start)] + 0.6 * noise
        else:
            x = noise
        out[start:stop] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def load1() -> float:
    """The 1-minute load average (what else the 2 cores were doing)."""
    return os.getloadavg()[0]


def rss_mb() -> float:
    """The process's resident memory now, in MB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def exact_top(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    out = np.empty((len(queries), K), np.int64)
    for i in range(0, len(queries), 100):
        s = queries[i : i + 100] @ data.T
        top = np.argpartition(-s, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1)
        out[i : i + 100] = np.take_along_axis(top, order, axis=1)
    return out


def timed(search: Any, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys found per query, and each query's wall and thread-CPU seconds."""
    found = np.full((len(queries), K), -1, np.int64)
    wall, cpu = np.empty(len(queries)), np.empty(len(queries))
    for i, q in enumerate(queries):
        t, c = time.perf_counter(), time.thread_time()
        keys = search(q)
        wall[i], cpu[i] = time.perf_counter() - t, time.thread_time() - c
        found[i, : len(keys)] = keys
    return found, wall, cpu


def run_usearch(data: np.ndarray, threads: int, m: int, efc: int) -> tuple[float, Any, Any]:
    from usearch.index import Index

    idx = Index(ndim=data.shape[1], metric="cos", dtype="f16", connectivity=m, expansion_add=efc)
    t = time.perf_counter()
    idx.add(np.arange(len(data), dtype=np.uint64), data, threads=threads)
    built = time.perf_counter() - t

    def searcher(ef: int) -> Any:
        idx.expansion_search = ef
        return lambda q: np.asarray(idx.search(q, K, threads=1).keys, np.int64)

    return built, searcher, idx


def run_hnswlib(data: np.ndarray, threads: int, m: int, efc: int) -> tuple[float, Any, Any]:
    import hnswlib

    idx = hnswlib.Index(space="cosine", dim=data.shape[1])
    idx.init_index(max_elements=len(data), ef_construction=efc, M=m)
    t = time.perf_counter()
    idx.add_items(data, np.arange(len(data)), num_threads=threads)
    built = time.perf_counter() - t
    idx.set_num_threads(1)

    def searcher(ef: int) -> Any:
        idx.set_ef(max(ef, K))
        return lambda q: idx.knn_query(q, k=K)[0][0].astype(np.int64)

    return built, searcher, idx


def run_faiss(data: np.ndarray, threads: int, m: int, efc: int) -> tuple[float, Any, Any]:
    import faiss

    faiss.omp_set_num_threads(threads)
    idx = faiss.IndexHNSWFlat(data.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    idx.hnsw.efConstruction = efc
    t = time.perf_counter()
    idx.add(data)
    built = time.perf_counter() - t
    faiss.omp_set_num_threads(1)

    def searcher(ef: int) -> Any:
        idx.hnsw.efSearch = ef
        return lambda q: idx.search(q[None, :], K)[1][0].astype(np.int64)

    return built, searcher, idx


LIBRARIES = {"usearch": run_usearch, "hnswlib": run_hnswlib, "faiss-cpu": run_faiss}


def measure(
    name: str,
    args: argparse.Namespace,
    data: np.ndarray,
    queries: np.ndarray,
    truth: np.ndarray,
    rows: list[dict[str, Any]],
    exact_ms: float,
) -> None:
    """Build ``name``'s index for every (M, ef_construction) asked, search at every ef, and
    append a row per ef to ``rows`` (written to ``--out`` at once: a long run stopped later
    keeps what it measured)."""
    for m in (int(x) for x in args.m.split(",")):
        for efc in (int(x) for x in args.ef_construction.split(",")):
            before, load_start = rss_mb(), load1()
            built, searcher, idx = LIBRARIES[name](data, args.threads, m, efc)
            build = {
                "library": name,
                "n": args.n,
                "dim": args.dim,
                "clusters": args.clusters,
                "m": m,
                "ef_construction": efc,
                "build_s": built,
                "rss_growth_mb": rss_mb() - before,
                "index_mb": idx.index_file_size() / 2**20 if name == "hnswlib" else None,
                "load_build": [load_start, load1()],
            }
            for ef in (int(e) for e in args.ef.split(",")):
                found, wall, cpu = timed(searcher(ef), queries)
                row = build | {
                    "ef": ef,
                    "recall": recall_at_k(found, truth),
                    "p50_ms": float(np.percentile(wall, 50) * 1e3),
                    "p99_ms": float(np.percentile(wall, 99) * 1e3),
                    "cpu_p50_ms": float(np.percentile(cpu, 50) * 1e3),
                    "cpu_p99_ms": float(np.percentile(cpu, 99) * 1e3),
                    "load": load1(),
                }
                rows.append(row)
                if args.out:
                    args.out.write_text(json.dumps({"exact_ms": exact_ms, "rows": rows}, indent=1))
                print(
                    f"{name:9} {m:3d} {efc:4d} {built:8.1f} {row['rss_growth_mb']:7.0f} {ef:4d} "
                    f"{row['recall']:9.4f} {row['p50_ms']:7.3f} {row['p99_ms']:7.3f} "
                    f"{row['cpu_p50_ms']:7.3f} {row['cpu_p99_ms']:7.3f} {row['load']:5.2f}",
                    flush=True,
                )
            del idx, searcher


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--clusters", type=int, default=2000, help="0: uniformly random vectors")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2, help="threads for the build")
    ap.add_argument("--m", default="16", help="graph degrees M, comma-separated")
    ap.add_argument("--ef-construction", default="128", help="build efforts, comma-separated")
    ap.add_argument("--ef", default="16,32,64,128")
    ap.add_argument("--libraries", default=",".join(LIBRARIES))
    ap.add_argument("--out", type=Path, help="write the rows as JSON here too")
    args = ap.parse_args()
    every = clustered(args.n + args.queries, args.dim, args.clusters, seed=12)
    data, queries = every[: args.n], every[args.n :]
    t = time.perf_counter()
    truth = exact_top(data, queries)
    exact_ms = (time.perf_counter() - t) / len(queries) * 1e3
    print(
        f"{platform.processor() or platform.machine()}, n={args.n:,} dim={args.dim} "
        f"clusters={args.clusters} queries={args.queries}; exact numpy "
        f"{exact_ms:.2f} ms/query (batched 100); load {load1():.2f}"
    )
    print(
        f"{'library':9} {'M':>3} {'efC':>4} {'build s':>8} {'RSS MB':>7} {'ef':>4} "
        f"{'recall@10':>9} {'p50 ms':>7} {'p99 ms':>7} {'cpu p50':>7} {'cpu p99':>7} {'load':>5}"
    )
    rows: list[dict[str, Any]] = []
    for name in args.libraries.split(","):
        measure(name, args, data, queries, truth, rows, exact_ms)


if __name__ == "__main__":
    main()
