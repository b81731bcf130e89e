"""Benchmark: the same world in SQLite and in PostgreSQL, side by side in one run.

For each backend: generation time (``generate_world``, what ``discovery generate`` runs), size on
disk (SQLite: the file + its WAL; PostgreSQL: ``pg_database_size``), the first snapshot load from
the database (``changes_since(-1)``, no cache) and the cached load, and the explore feed's
latency served over HTTP by ``discovery --db URL serve --workers 2`` (``bench/load.py``'s client,
explore requests only; ``--events`` adds a row with its default 2,000 events/s stream).

The script starts its own PostgreSQL cluster (``initdb`` + ``pg_ctl`` on a folder under /tmp,
a free loopback port) with durable, production-like settings (:data:`PG_SETTINGS`: fsync, full
page writes and synchronous commit stay on) and removes it, and the SQLite file, afterwards.

Every process runs a copy of HEAD's ``src/`` (``--no-freeze``: the working tree's), so a
long run in a shared working tree measures one version of the code.

    python bench/stores.py --size demo --events            # minutes
    python bench/stores.py --users 200000 --events         # 200k users: ~30 min on 2 cores
    python bench/stores.py --size large                    # 1M users: well over an hour
    python bench/stores.py --table bench/results/stores-200k.json   # a saved run's table
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

#: PostgreSQL settings for the run: durable (the defaults for fsync, full_page_writes and
#: synchronous_commit), memory sized for a small server sharing its RAM with the service.
PG_SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "2GB",
    "effective_cache_size": "8GB",
    "maintenance_work_mem": "512MB",
    "work_mem": "64MB",
    "max_wal_size": "8GB",
    "checkpoint_completion_target": "0.9",
    "random_page_cost": "1.1",
    "max_connections": "100",
}


# ----------------------------------------------------------------- child processes
def _rusage() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpu_s": round(own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime, 1),
        "peak_rss_mb": round(max(own.ru_maxrss, kids.ru_maxrss) / 1024),
    }


def child_generate(db: str, size: str, users: int | None) -> dict[str, Any]:
    """Generate the world into ``db``; generation seconds and when each stage started."""
    from discovery.world import generate_world

    stamps: dict[str, float] = {}
    t0 = time.perf_counter()

    def tick(stage: str, done: int, total: int) -> None:
        stamps.setdefault(stage, round(time.perf_counter() - t0, 1))

    summary = generate_world(db, size, users=users, progress=tick)
    keys = ("users", "accounts", "follows", "posts", "interactions", "images")
    return {
        **{k: summary[k] for k in keys},
        "generate_s": round(time.perf_counter() - t0, 1),
        "stage_start_s": stamps,
        **_rusage(),
        "code": str(Path(generate_world.__code__.co_filename).parents[2]),
    }


def child_load(db: str) -> dict[str, Any]:
    """The first snapshot load (no cache: ``changes_since(-1)``), then two cached loads."""
    from discovery.snapshot import load as snapload
    from discovery.store import Store

    queries: list[tuple[str, float]] = []
    writes: list[float] = []
    with Store.open(db, create=False) as store:
        path = snapload.cache_path(store)
        assert path is not None
        shutil.rmtree(path.parent, ignore_errors=True)
        # time each statement of changes_since and the cache write, without changing them
        for name in ("_fetch", "_columns"):
            inner = getattr(store, name)

            def timed(sql: str, *a: Any, _inner: Any = inner, **k: Any) -> Any:
                t = time.perf_counter()
                try:
                    return _inner(sql, *a, **k)
                finally:
                    queries.append((" ".join(sql.split())[:60], time.perf_counter() - t))

            setattr(store, name, timed)
        inner_changes = store.changes_since
        changes: list[float] = []

        def timed_changes(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return inner_changes(*a, **k)
            finally:
                changes.append(time.perf_counter() - t)

        store.changes_since = timed_changes  # type: ignore[method-assign]
        inner_write = snapload._write_cache

        def timed_write(*a: Any, **k: Any) -> None:
            t = time.perf_counter()
            inner_write(*a, **k)
            writes.append(time.perf_counter() - t)

        snapload._write_cache = timed_write  # type: ignore[assignment]
        t = time.perf_counter()
        snap = snapload.load_snapshot(store)
        cold = time.perf_counter() - t
        first_rss = _rusage()["peak_rss_mb"]
        counts = {
            "accounts": len(snap.account_id),
            "posts": len(snap.post_id),
            "interactions": len(snap.inter_user),
        }
        del snap
        heavy = sorted(q for q in queries if q[1] > 0.05)
        cached = []
        for _ in range(2):
            t = time.perf_counter()
            snapload.load_snapshot(store)
            cached.append(round(time.perf_counter() - t, 3))
    return {
        **counts,
        "first_load_s": round(cold - sum(writes), 2),
        "changes_since_s": round(changes[0], 2),
        "cache_write_s": round(sum(writes), 2),
        "cached_load_s": cached,
        "first_load_queries_s": {sql: round(s, 2) for sql, s in heavy},
        "peak_rss_first_load_mb": first_rss,
        **_rusage(),
    }


def _child(args: argparse.Namespace) -> None:
    if args.child == "generate":
        out = child_generate(args.db, args.size, args.users)
    else:
        out = child_load(args.db)
    print(json.dumps(out))


def _run_child(what: str, db: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", what, "--db", db, "--size", args.size]
    if args.users:
        cmd += ["--users", str(args.users)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{what} on {db} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -------------------------------------------------------------------- PostgreSQL
def _cluster_class() -> Any:
    # tests/stores.py, loaded by path: its module name is this file's
    spec = importlib.util.spec_from_file_location("_test_stores", ROOT / "tests" / "stores.py")
    assert spec is not None and spec.loader is not None
    test_stores = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(test_stores)
    PgCluster, pg_binaries = test_stores.PgCluster, test_stores.pg_binaries

    class BenchCluster(PgCluster):
        """tests/stores.py's throwaway cluster, started with :data:`PG_SETTINGS`."""

        def start(self) -> BenchCluster:
            self._run(
                str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                "-U", "discovery", "-E", "UTF8",
            )  # fmt: skip
            options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 " + " ".join(
                f"-c {k}={v}" for k, v in PG_SETTINGS.items()
            )
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-w",
                "-l", str(self.root / "log"), "start",
            )  # fmt: skip
            return self

        def stop(self) -> None:
            try:  # a clean shutdown (a checkpoint), then the folder goes
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
            finally:
                shutil.rmtree(self.root, ignore_errors=True)

        def server_cpu_s(self) -> float:
            """CPU seconds of the postmaster and its backends, live and exited."""
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            tick = os.sysconf("SC_CLK_TCK")

            def fields(p: int) -> list[str]:
                return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()

            f = fields(pid)
            total = sum(int(x) for x in f[11:15])  # utime stime cutime cstime
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            for k in kids:
                try:
                    total += sum(int(x) for x in fields(int(k))[11:13])
                except OSError:
                    continue
            return total / tick

    binaries = pg_binaries()
    if binaries is None:
        raise SystemExit("PostgreSQL binaries not found (apt-get install postgresql)")
    return BenchCluster, binaries


def _pg_query(url: str, sql: str, params: tuple = ()) -> Any:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchone()[0]  # type: ignore[index]


# ------------------------------------------------------------------------- phases
def _mb(path: Path) -> float:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20
    return path.stat().st_size / 2**20 if path.exists() else 0.0


def sizes(backend: str, db: str) -> dict[str, Any]:
    if backend == "sqlite":
        main, wal = _mb(Path(db)), _mb(Path(db + "-wal"))
        return {"db_mb": round(main + wal), "file_mb": round(main), "wal_mb": round(wal)}
    total = _pg_query(db, "SELECT pg_database_size(current_database())")
    split = (
        "SELECT sum(pg_table_size(c.oid)), sum(pg_indexes_size(c.oid)) FROM pg_class c"
        " WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace"
    )
    import psycopg

    with psycopg.connect(db, autocommit=True) as conn:
        tables, indexes = conn.execute(split).fetchone()  # type: ignore[misc]
    return {
        "db_mb": round(total / 2**20),
        "tables_mb": round(tables / 2**20),
        "indexes_mb": round(indexes / 2**20),
    }


def serve(db: str, args: argparse.Namespace, event_rate: float) -> dict[str, Any]:
    """Explore requests over HTTP against ``serve --workers N`` (bench/load.py's client)."""
    sys.path.insert(0, str(BENCH))
    import load as loadbench  # bench/load.py

    loadbench.KINDS = ("explore",)  # its feed clients draw the kind from this tuple
    ns = argparse.Namespace(
        db=db,
        duration=args.duration,
        feed_concurrency=args.feed_concurrency,
        event_rate=event_rate,
        batch=100,
        nice=0,
        seed=1,
        workers=args.workers,
        warmup=args.warmup,
    )
    port = loadbench.free_port()
    t = time.perf_counter()
    proc = loadbench.start(db, port, 0, args.workers)
    started = time.perf_counter() - t
    try:
        summary = asyncio.run(loadbench.run(ns, port, proc.pid))
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    keep = (
        "duration_s", "feed_concurrency", "event_rate_target", "workers", "feed_requests",
        "feed_rps", "feed_p50_ms", "feed_p99_ms", "events_per_s", "event_batch_p50_ms",
        "event_batch_p99_ms", "errors", "rss_mb_max", "server_cpu_cores", "client_cpu_cores",
        "per_minute", "warmup_s", "warmup_feed_rps", "warmup_feed_p99_ms", "warmup_errors",
    )  # fmt: skip
    return {"server_start_s": round(started, 1), **{k: summary.get(k) for k in keep}}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def freeze(work: Path) -> dict[str, str]:
    """Run every process of the benchmark on HEAD's ``src/``, copied out of the repository: in a
    working tree others edit, a run of an hour would otherwise mix versions of the code."""
    code = work / "code"
    code.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD", "src"], cwd=ROOT, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive.stdout, check=True)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(code / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    sys.path.insert(0, str(code / "src"))  # this process (bench/load.py's client) too
    return {"commit": _git("rev-parse", "--short", "HEAD"), "code": f"HEAD's src/ in {code}"}


def table(result: dict[str, Any]) -> str:
    """The side-by-side markdown table of a result."""
    rows: list[tuple[str, str, str]] = []
    b = result["backends"]
    names = list(b)

    def row(label: str, fn: Any) -> None:
        cells = []
        for n in names:
            try:
                cells.append(fn(b[n]))
            except (KeyError, TypeError, IndexError):
                cells.append("—")
        rows.append((label, *cells))  # type: ignore[arg-type]

    row("generation", lambda r: f"{r['generate']['generate_s']:,.1f} s")
    row(
        "generation CPU (client + server)",
        lambda r: f"{r['generate']['cpu_s'] + r['generate'].get('server_cpu_s', 0):,.0f} s",
    )
    row("size on disk", lambda r: f"{r['size']['db_mb']:,} MB")
    row("first snapshot load (no cache)", lambda r: f"{r['load']['first_load_s']:,.2f} s")
    row("— of which changes_since(-1)", lambda r: f"{r['load']['changes_since_s']:,.2f} s")
    row("cached snapshot load", lambda r: f"{min(r['load']['cached_load_s']):.3f} s")
    for key, label in (("serve", "explore"), ("serve_events", "explore + 2,000 events/s")):
        row(
            f"{label}: p50 / p99",
            lambda r, k=key: f"{r[k]['feed_p50_ms']} / {r[k]['feed_p99_ms']} ms",
        )
        row(f"{label}: feeds/s", lambda r, k=key: f"{r[k]['feed_rps']}")
    row("explore + events: events/s", lambda r: f"{r['serve_events']['events_per_s']:,}")
    row(
        "explore + events: event batch p50 / p99",
        lambda r: (
            f"{r['serve_events']['event_batch_p50_ms']:,} / "
            f"{r['serve_events']['event_batch_p99_ms']:,} ms"
        ),
    )
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows if any(c != "—" for c in r[1:])]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=("demo", "large"), default="large")
    ap.add_argument(
        "--users", type=int, help="people: rescales --size (discovery generate --users)"
    )
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds measured per HTTP row")
    ap.add_argument(
        "--warmup", type=float, help="seconds of load before measuring (demo 20, large 90)"
    )
    ap.add_argument("--feed-concurrency", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--events", action="store_true", help="also a row with 2,000 events/s")
    ap.add_argument("--out", type=Path, help="JSON of the raw numbers (bench/results/...)")
    ap.add_argument(
        "--no-freeze",
        dest="freeze",
        action="store_false",
        help="run the working tree's code, not a copy of HEAD's src/",
    )
    ap.add_argument("--keep", action="store_true", help="keep the /tmp folder (not the cluster)")
    ap.add_argument("--table", type=Path, help="print the table of a saved JSON and exit")
    ap.add_argument("--child", choices=("generate", "load"), help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(args)
    if args.table:
        return print(table(json.loads(args.table.read_text())))
    if args.warmup is None:
        args.warmup = 90.0 if args.size == "large" else 20.0
    backends = args.backends.split(",")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the cluster

    work = Path(tempfile.mkdtemp(prefix="discovery-bench-stores-", dir="/tmp"))
    os.environ["DISCOVERY_DATA_DIR"] = str(work / "data")  # PostgreSQL's snapshot cache, media
    cluster = None
    result: dict[str, Any] = {
        "size": args.size,
        "users": args.users,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
        "sqlite_version": sqlite3.sqlite_version,
        "pg_settings": PG_SETTINGS,
        "git": freeze(work)
        if args.freeze
        else {
            "commit": _git("rev-parse", "--short", "HEAD"),
            "dirty_src": _git("status", "-s", "src"),
        },
        "options": {k: v for k, v in vars(args).items() if k not in ("child", "db", "out")},
        "backends": {b: {} for b in backends},
    }
    out = args.out or BENCH / "results" / f"stores-{args.size}-{time.strftime('%Y%m%d-%H%M')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        out.write_text(json.dumps(result, indent=1) + "\n")

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}] {msg}", flush=True)

    try:
        urls: dict[str, str] = {}
        if "postgresql" in backends:
            cls, binaries = _cluster_class()
            cluster = cls(binaries).start()
            urls["postgresql"] = cluster.database()
            result["pg_version"] = _pg_query(cluster.url(), "SHOW server_version")
            log(f"PostgreSQL {result['pg_version']} on port {cluster.port}, {cluster.root}")
        if "sqlite" in backends:
            urls["sqlite"] = str(work / "world.db")
        for backend in backends:  # phase by phase, the backends next to each other
            db, r = urls[backend], result["backends"][backend]
            log(f"generate {args.size} (users {args.users or 'default'}) into {backend}")
            pg0 = cluster.server_cpu_s() if backend == "postgresql" else 0.0
            lsn = None
            if backend == "postgresql":
                lsn = _pg_query(db, "SELECT pg_current_wal_lsn()::text")
            r["generate"] = {"load_avg_before": _load(), **_run_child("generate", db, args)}
            if backend == "postgresql":
                r["generate"]["server_cpu_s"] = round(cluster.server_cpu_s() - pg0, 1)
                wal = _pg_query(db, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (lsn,))
                r["generate"]["wal_written_mb"] = round(float(wal) / 2**20)
            r["size"] = sizes(backend, db)
            log(f"  {r['generate']['generate_s']} s, {r['size']['db_mb']} MB")
            save()
        for backend in backends:
            db, r = urls[backend], result["backends"][backend]
            log(f"snapshot loads from {backend}")
            pg0 = cluster.server_cpu_s() if backend == "postgresql" else 0.0
            r["load"] = {"load_avg_before": _load(), **_run_child("load", db, args)}
            if backend == "postgresql":
                r["load"]["server_cpu_s"] = round(cluster.server_cpu_s() - pg0, 1)
            log(f"  first {r['load']['first_load_s']} s, cached {r['load']['cached_load_s']}")
            save()
        rows = [("serve", 0.0)] + ([("serve_events", 2000.0)] if args.events else [])
        for key, rate in rows:
            for backend in backends:
                db, r = urls[backend], result["backends"][backend]
                log(f"{key} on {backend}: warm-up {args.warmup} s, {args.duration} s measured")
                pg0, t0 = cluster.server_cpu_s() if backend == "postgresql" else 0.0, time.time()
                r[key] = {"load_avg_before": _load(), **serve(db, args, rate)}
                if backend == "postgresql":  # warm-up and measured load together
                    cores = (cluster.server_cpu_s() - pg0) / (time.time() - t0)
                    r[key]["pg_server_cpu_cores"] = round(cores, 2)
                log(f"  p50 {r[key]['feed_p50_ms']} ms, p99 {r[key]['feed_p99_ms']} ms, "
                    f"{r[key]['feed_rps']} feeds/s, errors {r[key]['errors']}")  # fmt: skip
                save()
        if cluster is not None:
            result["pg_log_tail"] = (cluster.root / "log").read_text()[-3000:]
    finally:
        result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
        save()
        if cluster is not None:
            cluster.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(table(result))
    print(f"raw numbers: {out}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
