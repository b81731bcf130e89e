"""Benchmark: approximate nearest neighbours — usearch, hnswlib and faiss-cpu side by side.

The same clustered unit vectors (a mixture of ``--clusters`` Gaussian blobs on the sphere,
like embeddings of photos of a few thousand subjects; seeded by ``discovery.seed``) go into an
HNSW index of each library with the same graph degree (M = 16) and build effort
(ef_construction = 128). For each search effort ``ef`` the script reports recall@10 against the
exact answer (a numpy matrix product over all vectors) and single-query latency (one thread,
one query at a time, like one feed request), p50 and p99 over ``--queries`` queries drawn from
the same blobs but not in the index. Build time is with ``--threads`` threads.

    python bench/ann.py --n 200000 --dim 384          # minutes on 2 cores
    python bench/ann.py --n 1000000 --dim 384         # the issue's 1M figure (~4 GB RAM)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from discovery.embeddings.ann import recall_at_k
from discovery.seed import rng

M, EF_CONSTRUCTION, K = 16, 128, 10


def clustered(n: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    """``n`` unit vectors around ``clusters`` random centres (noise 0.6 of a centre's norm)."""
    gen = rng(seed)
    centres = gen.standard_normal((clusters, dim)).astype(np.float32)
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        labels = gen.integers(0, clusters, stop - start)
        x = centres[labels] + 0.6 * gen.standard_normal((stop - start, dim)).astype(np.float32)
        out[start:stop] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def exact_top(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    out = np.empty((len(queries), K), np.int64)
    for i in range(0, len(queries), 100):
        s = queries[i : i + 100] @ data.T
        top = np.argpartition(-s, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1)
        out[i : i + 100] = np.take_along_axis(top, order, axis=1)
    return out


def timed(search: Any, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    found = np.full((len(queries), K), -1, np.int64)
    lat = np.empty(len(queries))
    for i, q in enumerate(queries):
        t = time.perf_counter()
        keys = search(q)
        lat[i] = time.perf_counter() - t
        found[i, : len(keys)] = keys
    return found, lat


def run_usearch(data: np.ndarray, threads: int) -> tuple[float, Any]:
    from usearch.index import Index

    idx = Index(
        ndim=data.shape[1], metric="cos", dtype="f16", connectivity=M, expansion_add=EF_CONSTRUCTION
    )
    t = time.perf_counter()
    idx.add(np.arange(len(data), dtype=np.uint64), data, threads=threads)
    built = time.perf_counter() - t

    def searcher(ef: int) -> Any:
        idx.expansion_search = ef
        return lambda q: np.asarray(idx.search(q, K, threads=1).keys, np.int64)

    return built, searcher


def run_hnswlib(data: np.ndarray, threads: int) -> tuple[float, Any]:
    import hnswlib

    idx = hnswlib.Index(space="cosine", dim=data.shape[1])
    idx.init_index(max_elements=len(data), ef_construction=EF_CONSTRUCTION, M=M)
    t = time.perf_counter()
    idx.add_items(data, np.arange(len(data)), num_threads=threads)
    built = time.perf_counter() - t
    idx.set_num_threads(1)

    def searcher(ef: int) -> Any:
        idx.set_ef(max(ef, K))
        return lambda q: idx.knn_query(q, k=K)[0][0].astype(np.int64)

    return built, searcher


def run_faiss(data: np.ndarray, threads: int) -> tuple[float, Any]:
    import faiss

    faiss.omp_set_num_threads(threads)
    idx = faiss.IndexHNSWFlat(data.shape[1], M, faiss.METRIC_INNER_PRODUCT)
    idx.hnsw.efConstruction = EF_CONSTRUCTION
    t = time.perf_counter()
    idx.add(data)
    built = time.perf_counter() - t
    faiss.omp_set_num_threads(1)

    def searcher(ef: int) -> Any:
        idx.hnsw.efSearch = ef
        return lambda q: idx.search(q[None, :], K)[1][0].astype(np.int64)

    return built, searcher


LIBRARIES = {"usearch": run_usearch, "hnswlib": run_hnswlib, "faiss-cpu": run_faiss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--clusters", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
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
        f"{exact_ms:.2f} ms/query (batched 100)"
    )
    rows = []
    print(f"{'library':10} {'build s':>8} {'ef':>4} {'recall@10':>9} {'p50 ms':>7} {'p99 ms':>7}")
    for name in args.libraries.split(","):
        built, searcher = LIBRARIES[name](data, args.threads)
        for ef in (int(e) for e in args.ef.split(",")):
            found, lat = timed(searcher(ef), queries)
            row = {
                "library": name,
                "n": args.n,
                "dim": args.dim,
                "build_s": built,
                "ef": ef,
                "recall": recall_at_k(found, truth),
                "p50_ms": float(np.percentile(lat, 50) * 1e3),
                "p99_ms": float(np.percentile(lat, 99) * 1e3),
            }
            rows.append(row)
            print(
                f"{name:10} {built:8.1f} {ef:4d} {row['recall']:9.4f} {row['p50_ms']:7.3f} "
                f"{row['p99_ms']:7.3f}",
                flush=True,
            )
    if args.out:
        args.out.write_text(json.dumps({"exact_ms": exact_ms, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
