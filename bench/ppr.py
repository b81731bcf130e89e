"""Benchmark: exact and approximate personalized PageRank against networkx, igraph, scikit-network.

Usage::

    .venv/bin/python bench/ppr.py [--sizes 10k,100k,1M] [--quick] [--out results.md]

Graphs are synthetic directed follow graphs (Chung-Lu style: Pareto out-weights with exponent
2.5 and in-weights with exponent 2.2, so a few celebrities have most followers; half of the
follows stay inside 1,000-node communities; node ids shuffled; exactly 20 distinct edges per
node, no self-loops, every node follows someone so that every library's dangling convention
agrees), generated through ``discovery.seed`` and cached in /tmp/discovery-bench/.

Per size: build each library's structure once, one untimed warm-up query, then the same
sources for every method; the table reports the median query time, the L1 distance to a
tight reference (our power iteration to an L1 change of 1e-14, cross-checked against igraph's
PRPACK), top-100 overlap and top-100 mass ratio (see ``discovery.graph.mass_ratio``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from discovery.graph import (
    PPRIndex,
    adjacency_from_edges,
    ego_pagerank,
    fora_pagerank,
    mass_ratio,
    monte_carlo_pagerank,
    push_pagerank,
    top_k,
    topk_overlap,
    warmup,
)
from discovery.seed import child_rng

DATA = Path("/tmp/discovery-bench")
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
ALPHA = 0.85
TOL = 1e-10
K = 100


def make_graph(n: int, degree: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Exactly ``degree * n`` distinct directed edges (plus one for any node left without)."""
    rng = child_rng(seed, "bench-ppr-graph", n)
    # numpy's pareto(a) + 1 is Pareto with tail P(W > w) = w^-a: degree exponent a + 1
    out_w = rng.pareto(1.5, n) + 1.0
    in_w = rng.pareto(1.2, n) + 1.0
    cum_out, cum_in = np.cumsum(out_w), np.cumsum(in_w)
    block = 1000
    comm = np.arange(n) // block
    starts = np.arange(0, n, block)
    before = np.concatenate([[0.0], cum_in])[starts]
    total = cum_in[np.minimum(starts + block, n) - 1] - before
    key = comm + (cum_in - before[comm]) / total[comm]  # in-weight CDF, block b in (b, b + 1]
    perm = rng.permutation(n)
    m = degree * n
    codes = np.empty(0, dtype=np.int64)
    while codes.size < m:
        batch = int((m - codes.size) * 1.3) + 1000
        # sorted uniforms make searchsorted cache-friendly; dst is shuffled before pairing
        src = np.searchsorted(cum_out, np.sort(rng.random(batch)) * cum_out[-1], side="right")
        local = rng.random(batch) < 0.5
        dst = np.searchsorted(cum_in, np.sort(rng.random(batch)) * cum_in[-1], side="right")
        dst = dst[rng.permutation(batch)]
        t = comm[src[local]] + rng.random(int(local.sum()))
        dst[local] = np.minimum(np.searchsorted(key, t, side="right"), n - 1)
        s, d = perm[src], perm[dst]
        keep = s != d
        codes = np.unique(np.concatenate([codes, s[keep] * n + d[keep]]))
    codes = np.sort(rng.choice(codes, size=m, replace=False))
    src, dst = codes // n, codes % n
    lonely = np.flatnonzero(np.bincount(src, minlength=n) == 0)
    extra = (lonely + 1 + rng.integers(0, n - 1, lonely.size)) % n
    return np.concatenate([src, lonely]).astype(np.int32), np.concatenate([dst, extra]).astype(
        np.int32
    )


def load_graph(n: int) -> tuple[np.ndarray, np.ndarray, float]:
    path = DATA / f"ppr_graph_{n}.npz"
    if path.exists():
        z = np.load(path, allow_pickle=False)
        return z["src"], z["dst"], float(z["seconds"])
    start = time.perf_counter()
    src, dst = make_graph(n)
    seconds = time.perf_counter() - start
    DATA.mkdir(parents=True, exist_ok=True)
    np.savez(path, src=src, dst=dst, seconds=seconds)
    return src, dst, seconds


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    libs = ["numpy", "scipy", "numba", "networkx", "igraph", "scikit-network"]
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "free -h": free,
        "python": sys.version.split()[0],
        **{lib: version(lib) for lib in libs},
    }


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Row(dict[str, Any]):
    pass


def measure(
    name: str,
    query: Callable[[int], Any],
    sources: list[int],
    ref: dict[int, np.ndarray],
    *,
    reps: int = 1,
    build_s: float = 0.0,
    dense: Callable[[int], np.ndarray] | None = None,
    warm: int | None = None,
    note: str = "",
) -> Row:
    """Median time of ``query`` over ``sources`` x ``reps`` and its agreement with ``ref``."""
    first = np.nan
    if warm is not None:
        t = time.perf_counter()
        query(warm)
        first = time.perf_counter() - t
    times, l1s, overlaps, masses = [], [], [], []
    for s in sources:
        for _ in range(reps):
            t = time.perf_counter()
            out = query(s)
            times.append(time.perf_counter() - t)
        if isinstance(out, tuple):
            nodes = out[0]
            vec = dense(s) if dense is not None else None
        else:
            vec = np.asarray(out, dtype=np.float64)
            nodes = top_k(vec, K)[0]
        if vec is not None:
            l1s.append(float(np.abs(vec - ref[s]).sum()))
        overlaps.append(topk_overlap(nodes[:K], ref[s], K))
        masses.append(mass_ratio(nodes[:K], ref[s], K))
    row = Row(
        method=name,
        build_s=build_s,
        first_s=first,
        median_s=float(np.median(times)),
        min_s=float(np.min(times)),
        max_s=float(np.max(times)),
        queries=len(times),
        l1=float(np.max(l1s)) if l1s else None,
        overlap=float(np.mean(overlaps)),
        overlap_min=float(np.min(overlaps)),
        mass=float(np.mean(masses)),
        note=note,
    )
    print(f"  {name:28s} {fmt_s(row['median_s']):>9s}  L1 {fmt_e(row['l1']):>8s}  "
          f"top-100 {row['overlap']:.3f}  mass {row['mass']:.5f}", flush=True)  # fmt: skip
    return row


def fmt_s(s: float | None) -> str:
    if s is None or not np.isfinite(s):
        return "-"
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def fmt_e(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1e}"


def bench_size(label: str, n: int, quick: bool) -> dict[str, Any]:
    print(f"== {label}", flush=True)
    load_before = os.getloadavg()[0]
    src, dst, gen_s = load_graph(n)
    t = time.perf_counter()
    adjacency = adjacency_from_edges(src, dst, n, duplicates="one")
    index = PPRIndex(adjacency)
    build = time.perf_counter() - t
    index_mb = sum(a.nbytes for a in (index.indptr, index.indices, index.weights)) / 2**20
    pt = index.transition_t
    index_mb += (pt.data.nbytes + pt.indices.nbytes + pt.indptr.nbytes) / 2**20
    picks = child_rng(0, "bench-ppr-sources", n).choice(n, 6, replace=False).tolist()
    warm, sources = picks[0], picks[1 : 4 if quick else 6]
    t = time.perf_counter()
    ref = {s: index.pagerank(s, tol=1e-14, max_iter=10_000) for s in sources}
    ref_s = (time.perf_counter() - t) / len(sources)
    indeg = np.bincount(dst, minlength=n)
    outdeg = np.bincount(src, minlength=n)
    info = {
        "n": n,
        "m": int(adjacency.nnz),
        "generate_s": gen_s,
        "max_in": int(indeg.max()),
        "in_p50_p99": np.percentile(indeg, [50, 99]).tolist(),
        "max_out": int(outdeg.max()),
        "out_p50_p99": np.percentile(outdeg, [50, 99]).tolist(),
        "index_build_s": build,
        "index_mb": index_mb,
        "reference_s": ref_s,
        "sources": sources,
    }
    rows: list[Row] = []
    reps = 1 if quick or n >= 1_000_000 else 3

    # ours at three accuracies, so that every peer is compared at (at least) equal accuracy
    exact: dict[float, float] = {}
    for tol in (1e-6, TOL, 1e-12):
        rows.append(
            measure(
                f"ours exact (tol {tol:g})",
                lambda s, t=tol: index.pagerank(s, alpha=ALPHA, tol=t),
                sources,
                ref,
                reps=reps,
                build_s=build,
                warm=warm,
            )
        )
        exact[tol] = rows[-1]["median_s"]
    exact_s = exact[TOL]

    # igraph: PRPACK solves to ~1e-12 and preprocesses the graph on every call (pitfall 4)
    import igraph as ig

    t = time.perf_counter()
    g = ig.Graph(n=n, edges=list(zip(src.tolist(), dst.tolist(), strict=True)), directed=True)
    ig_build = time.perf_counter() - t
    ig_sources = sources[:1] if n >= 1_000_000 or quick else sources
    rows.append(
        measure(
            "igraph prpack",
            lambda s: g.personalized_pagerank(
                reset_vertices=[s], damping=ALPHA, directed=True, implementation="prpack"
            ),
            ig_sources,
            ref,
            build_s=ig_build,
            warm=None if n >= 1_000_000 else warm,
            note="1 query" if len(ig_sources) == 1 else "",
        )
    )
    rows[-1]["vs"] = 1e-12
    g = None  # free the igraph copy before the next library builds its own

    # scikit-network: n_iter defaults to 10 whatever tol says (pitfall 2); set both
    from sknetwork.ranking import PageRank

    csr = sp.csr_matrix(adjacency)
    sk_sources = sources[:2] if n >= 1_000_000 or quick else sources
    rows.append(
        measure(
            "scikit-network piteration",
            lambda s: PageRank(
                damping_factor=ALPHA, solver="piteration", n_iter=1000, tol=TOL
            ).fit_predict(csr, weights={s: 1.0}),
            sk_sources,
            ref,
            warm=warm,
            note="n_iter=1000, tol=1e-10",
        )
    )
    rows[-1]["vs"] = TOL

    # networkx: tol is per node (stops at L1 < N tol, pitfall 1), so tol = 1e-10 / N
    if n <= 100_000 and not (quick and n > 10_000):
        import networkx as nx

        t = time.perf_counter()
        gx = nx.DiGraph()
        gx.add_nodes_from(range(n))
        gx.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
        nx_build = time.perf_counter() - t
        nx_sources = sources[:1] if n > 10_000 or quick else sources[:3]
        for tol in (1e-6, TOL):

            def nx_query(s: int, t: float = tol) -> np.ndarray:
                got = nx.pagerank(gx, alpha=ALPHA, personalization={s: 1.0}, tol=t / n)
                return np.fromiter((got[u] for u in range(n)), dtype=np.float64, count=n)

            count = f"{len(nx_sources)} quer{'y' if len(nx_sources) == 1 else 'ies'}"
            rows.append(
                measure(
                    f"networkx (tol {tol:g}/N)",
                    nx_query,
                    nx_sources,
                    ref,
                    build_s=nx_build,
                    note=f"{count}; networkx stops at L1 change < N tol",
                )
            )
            rows[-1]["vs"] = tol
        gx = None

    approx: list[tuple[str, Callable[[int], Any], Callable[[int], np.ndarray]]] = []
    for eps in (1e-5, 1e-6):
        approx.append(
            (
                f"push eps={eps:g}",
                lambda s, e=eps: push_pagerank(index, s, eps=e, k=K),
                lambda s, e=eps: push_pagerank(index, s, eps=e),
            )
        )
    for walks in (10_000, 100_000):
        approx.append(
            (
                f"monte carlo {walks // 1000}k walks",
                lambda s, w=walks: monte_carlo_pagerank(index, s, n_walks=w, seed=1, k=K),
                lambda s, w=walks: monte_carlo_pagerank(index, s, n_walks=w, seed=1),
            )
        )
    for eps, walks in ((1e-4, 10_000), (1e-4, 20_000), (1e-4, 50_000)):
        approx.append(
            (
                f"fora eps={eps:g} {walks // 1000}k walks",
                lambda s, e=eps, w=walks: fora_pagerank(index, s, eps=e, n_walks=w, seed=1, k=K),
                lambda s, e=eps, w=walks: fora_pagerank(index, s, eps=e, n_walks=w, seed=1),
            )
        )
    for name, query, dense in approx:
        row = measure(name, query, sources, ref, reps=1 if quick else 3, dense=dense, warm=warm)
        row["x_faster_than_exact"] = exact_s / row["median_s"]
        rows.append(row)

    # the tutorial's shortcut: PPR of the 2-hop ego network only (not an approximation of the
    # full PPR, but how much of its top 100 it recovers is worth knowing)
    def ego(s: int) -> tuple[np.ndarray, np.ndarray]:
        nodes, scores = ego_pagerank(index, s, depth=2, max_nodes=20_000)
        return top_k(scores, K, nodes=nodes)

    row = measure("ego depth 2 (<= 20k nodes)", ego, sources, ref, warm=warm)
    row["x_faster_than_exact"] = exact_s / row["median_s"]
    rows.append(row)
    for r in rows:
        if "vs" in r:
            r["ours_x_faster"] = r["median_s"] / exact[r["vs"]]
    info["peak_rss_mb"] = rss_mb()
    info["load_avg_1min"] = [load_before, os.getloadavg()[0]]
    return {"label": label, "info": info, "rows": rows}


def to_markdown(results: list[dict[str, Any]], about: dict[str, str]) -> str:
    out = ["## Machine", ""]
    for key, value in about.items():
        if key == "free -h":
            out += ["```", value, "```"]
        else:
            out.append(f"- {key}: {value}")
    for res in results:
        i = res["info"]
        out += [
            "",
            f"## {res['label']}: n = {i['n']:,}, m = {i['m']:,}",
            "",
            f"max in-degree {i['max_in']:,} (p50/p99 {i['in_p50_p99'][0]:.0f}/{i['in_p50_p99'][1]:.0f}), "
            f"max out-degree {i['max_out']:,} (p50/p99 {i['out_p50_p99'][0]:.0f}/{i['out_p50_p99'][1]:.0f}); "
            f"generated in {i['generate_s']:.1f} s; PPRIndex built in {i['index_build_s']:.2f} s, "
            f"{i['index_mb']:.0f} MB; reference (tol 1e-14) {fmt_s(i['reference_s'])} per source; "
            f"process peak RSS {i['peak_rss_mb']:.0f} MB; 1-minute load average "
            f"{i['load_avg_1min'][0]:.1f} before, {i['load_avg_1min'][1]:.1f} after (2 cores, shared).",
            "",
            "| method | build | query median [min-max] | first call | L1 vs ref (max) "
            "| top-100 overlap (mean/min) | top-100 mass | speed ratio | n | note |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in res["rows"]:
            if "x_faster_than_exact" in r:
                f = r["x_faster_than_exact"]
                ratio = (
                    f"{f:.1f}x faster than exact" if f >= 1 else f"{1 / f:.1f}x slower than exact"
                )
            elif "ours_x_faster" in r:
                f = r["ours_x_faster"]
                tol = f"{r['vs']:g}"
                ratio = (
                    f"ours (tol {tol}) {f:.1f}x faster"
                    if f >= 1
                    else f"ours (tol {tol}) {1 / f:.1f}x slower"
                )
            else:
                ratio = "-"
            out.append(
                f"| {r['method']} | {fmt_s(r['build_s']) if r['build_s'] else '-'} "
                f"| {fmt_s(r['median_s'])} [{fmt_s(r['min_s'])}-{fmt_s(r['max_s'])}] "
                f"| {fmt_s(r['first_s'])} | {fmt_e(r['l1'])} "
                f"| {r['overlap']:.3f} / {r['overlap_min']:.2f} | {r['mass']:.5f} | {ratio} "
                f"| {r['queries']} | {r['note']} |"
            )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k,1M", help="comma-separated: 10k,100k,1M")
    parser.add_argument("--quick", action="store_true", help="3 sources, 1 rep, fewer peer runs")
    parser.add_argument("--out", type=Path, default=DATA / "ppr_results.md")
    args = parser.parse_args(argv)
    labels = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in labels if s not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {unknown}; choose from {list(SIZES)}")
    about = machine()
    t = time.perf_counter()
    about["numba warmup (compile or cache load)"] = f"{warmup():.2f} s"
    del t
    results = [bench_size(label, SIZES[label], args.quick) for label in labels]
    text = to_markdown(results, about)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps({"machine": about, "results": results}))
    print(text)
    print(f"written to {args.out} (+ .json)")


if __name__ == "__main__":
    main()
