"""Load test of ``discovery serve``: feed requests with concurrent event posting, on loopback.

Starts the server as a subprocess on a free port (optionally under ``nice``), then for
``--duration`` seconds runs

- ``--feed-concurrency`` closed-loop clients, each asking for one random account's feed
  (``kind`` drawn from blend/timeline/explore/interests, ``limit`` 20) as soon as the last answer
  came back: the server's capacity, at a latency that is mostly queueing (the line is always
  full); or, with ``--feed-rate R``, an open loop that sends R feed requests a second on a fixed
  schedule whatever the answers do (as wrk2 does): the latency at that rate, each measured from
  the moment its request was due, so a stalled server is charged for the requests it held up
  (no coordinated omission); more than 256 in flight counts as an error instead of a request;
- an open-loop event poster sending batches of ``--batch`` events at ``--event-rate`` events/s
  (at most 4 batches in flight): mostly impressions and views, some likes, clicks, hides, saves
  and a few follows, on random accounts and posts, each with a unique id; with
  ``--unlike-share S``, a share S of the events instead unlike a like the stream sent earlier;
- with ``--post-rate`` / ``--signup-rate``, a writer beside the server, as a connector is: new
  posts (by random accounts, with hashtags) and new accounts written straight to the store at
  those rates a second, which every worker's catch-up then takes in.

It samples the server's resident memory (``/proc/PID/status``) every second and prints p50/p99
latency, requests/s, events/s, errors, memory and the share of the run some task stalled on CPU,
I/O or memory (Linux PSI); ``--json`` writes the raw summary, with the answering worker's own
feed latency histogram and snapshot refresh and rebuild metrics.

Run: ``python bench/load.py --db demo.db --duration 60`` (the demo world: ``discovery generate
--size demo``). Latencies are measured by the client, so they include HTTP and client time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

KINDS = ("blend", "timeline", "explore", "interests")
EVENT_MIX = (
    ("impression", 0.48),
    ("view", 0.20),
    ("like", 0.15),
    ("click", 0.10),
    ("hide", 0.03),
    ("save", 0.03),
    ("follow", 0.01),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pressure_stalled() -> dict[str, float]:
    """Seconds some task was stalled on CPU, I/O and memory since boot (Linux PSI,
    ``/proc/pressure/*``, the ``some`` line's ``total`` in µs); {} where PSI is absent."""
    out = {}
    for res in ("cpu", "io", "memory"):
        try:
            line = Path(f"/proc/pressure/{res}").read_text().splitlines()[0]
        except OSError:
            continue
        out[res] = int(line.rsplit("total=", 1)[1]) / 1e6
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its child processes (``serve --workers N``)."""
    total = 0.0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its child processes so far."""
    total = 0.0
    for p in [pid, *children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(k) for k in kids]


def world(db: Path) -> tuple[list[str], list[int], str]:
    """Handles and post ids of the database, and what it holds so far (its last interaction id
    and follow count), which seeds the event stream with ``--seed``."""
    from discovery.snapshot import load_snapshot
    from discovery.store import Store

    with Store.open(db, create=False) as store:
        snap = load_snapshot(store)
    order = snap.account_id.argsort()
    state = f"{snap.max_interaction_id}:{len(snap.follow_src)}"
    return [str(h) for h in snap.handle[order]], sorted(int(p) for p in snap.post_id), state


def start(
    db: Path, port: int, nice: int, workers: int, settings: list[str] | None = None
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "discovery", "--db", str(db), "serve", "--port", str(port)]
    cmd += ["--workers", str(workers)]
    for item in settings or []:  # e.g. precomputed_max_age=0 (serve from the sources only)
        cmd += ["--set", item]
    if nice:
        cmd = ["nice", "-n", str(nice), *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start in 900 s")


class Recorder:
    def __init__(self) -> None:
        self.feed_latency: list[float] = []
        self.feed_done: list[float] = []  # monotonic time each feed answer arrived
        self.event_latency: list[float] = []
        self.events_acked = 0
        self.posts_written = 0
        self.signups_written = 0
        self.errors: dict[str, int] = {}

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def one_feed(
    client: aiohttp.ClientSession, user: str, kind: str, rec: Recorder, due: float
) -> None:
    """One feed request; its latency counts from ``due`` (monotonic): when it was sent, or in
    the open loop when it should have been."""
    try:
        async with client.get(f"/v1/users/{user}/feed", params={"kind": kind, "limit": "20"}) as r:
            await r.read()
            status = r.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        rec.error(type(exc).__name__)
        return
    if status != 200:
        rec.error(f"feed {status}")
        return
    done = time.monotonic()
    rec.feed_latency.append(done - due)
    rec.feed_done.append(done)


async def feed_worker(
    client: aiohttp.ClientSession,
    handles: list[str],
    rec: Recorder,
    stop: float,
    rnd: random.Random,
) -> None:
    """A closed-loop client: the next request as soon as the last answer came back."""
    while time.monotonic() < stop:
        await one_feed(client, rnd.choice(handles), rnd.choice(KINDS), rec, time.monotonic())


#: Open loop: requests in flight at most; one more due is an error ("overloaded"), not a wait.
MAX_IN_FLIGHT = 256


async def feed_schedule(
    client: aiohttp.ClientSession,
    handles: list[str],
    rec: Recorder,
    stop: float,
    rate: float,
    rnd: random.Random,
) -> None:
    """The open loop: a request every ``1 / rate`` seconds, on schedule whatever the answers
    do (a late start is sent at once and charged from when it was due)."""
    in_flight: set[asyncio.Task[None]] = set()
    due = time.monotonic()
    while due < stop:
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if len(in_flight) >= MAX_IN_FLIGHT:
            rec.error("overloaded")
        else:
            task = asyncio.create_task(
                one_feed(client, rnd.choice(handles), rnd.choice(KINDS), rec, due)
            )
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        due += 1.0 / rate
    if in_flight:
        await asyncio.gather(*in_flight)


def share(text: str) -> float:
    """An argparse type: a share in [0, 1] (NaN, infinities and the rest refused in one line)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:  # NaN fails both comparisons
        raise argparse.ArgumentTypeError(f"a share between 0 and 1, not {text!r}")
    return value


def make_events(
    n: int,
    handles: list[str],
    posts: list[int],
    rnd: random.Random,
    run: str,
    counter: list[int],
    unlikes: tuple[float, list[tuple[str, int]]] | None = None,
) -> list[dict[str, Any]]:
    """``n`` events of :data:`EVENT_MIX`; with ``unlikes = (share, liked)``, each event is
    instead, with probability ``share``, an unlike of a like this stream sent before (``liked``
    remembers them; a random like would withdraw nothing)."""
    kinds, weights = zip(*EVENT_MIX, strict=True)
    out = []
    for kind in rnd.choices(kinds, weights, k=n):
        counter[0] += 1
        e: dict[str, Any] = {"id": f"{run}-{counter[0]}", "user": rnd.choice(handles), "kind": kind}
        if unlikes is not None and unlikes[1] and rnd.random() < unlikes[0]:
            user, post = unlikes[1].pop(rnd.randrange(len(unlikes[1])))
            e.update(user=user, kind="unlike", post=post)
        elif kind == "follow":
            e["target"] = rnd.choice([h for h in rnd.sample(handles, 2) if h != e["user"]])
        else:
            e["post"] = rnd.choice(posts)
            if kind == "like" and unlikes is not None:
                unlikes[1].append((e["user"], e["post"]))
        out.append(e)
    return out


async def event_poster(
    client: aiohttp.ClientSession,
    handles: list[str],
    posts: list[int],
    rec: Recorder,
    stop: float,
    rate: float,
    batch: int,
    rnd: random.Random,
    unlike_share: float = 0.0,
) -> None:
    run, counter = uuid.uuid4().hex[:8], [0]
    unlikes = (unlike_share, []) if unlike_share else None
    in_flight: set[asyncio.Task[None]] = set()
    gate = asyncio.Semaphore(4)

    async def send(body: list[dict[str, Any]]) -> None:
        try:
            t0 = time.perf_counter()
            try:
                async with client.post("/v1/events", json=body) as r:
                    status = r.status
                    answer = await r.json() if status == 200 else None
            except (TimeoutError, aiohttp.ClientError) as exc:
                rec.error(type(exc).__name__)
                return
            if answer is None:
                rec.error(f"events {status}")
                return
            rec.event_latency.append(time.perf_counter() - t0)
            rec.events_acked += answer["accepted"]
        finally:
            gate.release()

    # Open loop at `rate`, but never more than 4 batches in flight: when the server falls
    # behind, batches go out as fast as it answers (the achieved rate is what it sustains).
    interval = batch / rate
    next_at = time.monotonic()
    while time.monotonic() < stop:
        await gate.acquire()
        body = make_events(batch, handles, posts, rnd, run, counter, unlikes)
        task = asyncio.create_task(send(body))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        next_at = max(next_at + interval, time.monotonic() - 1.0)  # no catch-up bursts
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*in_flight)


async def content_writer(
    db: Path, handles: list[str], rec: Recorder, stop: float, post_rate: float, signup_rate: float
) -> None:
    """New posts and accounts written to the store on a fixed schedule, from a thread (a
    connector's transactions), beside the server's own event writes."""
    from discovery.store import Store

    rnd = random.Random(7)
    store = Store.open(db, create=False)
    try:
        conn = store.conn  # type: ignore[attr-defined]  # the large world is a SQLite file
        post = int(conn.execute("SELECT max(id) FROM posts").fetchone()[0] or 0) + 1
        account = int(conn.execute("SELECT max(id) FROM accounts").fetchone()[0] or 0) + 1
        authors = [int(r[0]) for r in conn.execute("SELECT id FROM accounts LIMIT 100000")]
        tags = ("food", "dinner", "travel", "sunset", "cats", "hiking", "coffee", "art")
        t0 = time.monotonic()
        n_posts = n_signups = 0
        while (now := time.monotonic()) < stop:
            due_posts = int((now - t0) * post_rate) - n_posts
            due_signups = int((now - t0) * signup_rate) - n_signups
            if due_posts > 0 or due_signups > 0:
                posts = []
                for _ in range(max(due_posts, 0)):
                    caption = "new " + " ".join(f"#{t}" for t in rnd.sample(tags, 2))
                    posts.append((post, rnd.choice(authors), int(time.time()), caption, "photo",
                                  None, 0, 0))  # fmt: skip
                    post += 1
                accounts = []
                for _ in range(max(due_signups, 0)):
                    accounts.append(
                        (account, f"signup_{account}", "New", "person", int(time.time()))
                    )
                    account += 1

                try:
                    await asyncio.to_thread(_write, store, accounts, posts)
                    n_posts, n_signups = n_posts + len(posts), n_signups + len(accounts)
                    rec.posts_written += len(posts)
                    rec.signups_written += len(accounts)
                except Exception as exc:  # a locked database: counted, as a connector would retry
                    rec.error(f"content writer: {type(exc).__name__}")
                    n_posts, n_signups = n_posts + len(posts), n_signups + len(accounts)
            await asyncio.sleep(0.05)
    finally:
        store.close()


def _write(store: Any, accounts: list[tuple[Any, ...]], posts: list[tuple[Any, ...]]) -> None:
    with store.transaction():
        store.add_accounts(accounts)
        store.add_posts(posts)


async def sample_memory(pid: int, out: list[tuple[float, float]], stop: float) -> None:
    t0 = time.monotonic()
    while time.monotonic() < stop:
        out.append((time.monotonic() - t0, rss_mb(pid)))
        await asyncio.sleep(1.0)


def feed_users(args: argparse.Namespace, handles: list[str]) -> list[str]:
    """The accounts whose feeds are asked for: ``--feed-users`` (handles, one a line; e.g. the
    users ``discovery batch candidates`` ran for), else every account."""
    if args.feed_users is None:
        return handles
    known = set(handles)
    chosen = [h for h in args.feed_users.read_text().split() if h in known]
    if not chosen:
        raise SystemExit(f"{args.feed_users}: no handle of this world")
    return chosen


async def load(
    args: argparse.Namespace,
    client: aiohttp.ClientSession,
    handles: list[str],
    posts: list[int],
    rnd: random.Random,
    duration: float,
    memory: list[tuple[float, float]] | None,
    pid: int,
) -> tuple[Recorder, float]:
    """The mixed load for ``duration`` seconds; returns what it recorded and the elapsed time."""
    rec = Recorder()
    t0 = time.monotonic()
    stop = t0 + duration
    askers = feed_users(args, handles)
    if args.feed_rate > 0:
        tasks = [feed_schedule(client, askers, rec, stop, args.feed_rate, rnd)]
    else:
        tasks = [
            feed_worker(client, askers, rec, stop, random.Random(rnd.random()))
            for _ in range(args.feed_concurrency)
        ]
    if args.event_rate > 0:
        tasks.append(
            event_poster(
                client,
                handles,
                posts,
                rec,
                stop,
                args.event_rate,
                args.batch,
                rnd,
                args.unlike_share,
            ),
        )
    if args.post_rate > 0 or args.signup_rate > 0:
        tasks.append(content_writer(args.db, handles, rec, stop, args.post_rate, args.signup_rate))
    if memory is not None:
        tasks.append(sample_memory(pid, memory, stop))
    await asyncio.gather(*tasks)
    return rec, time.monotonic() - t0


async def run(args: argparse.Namespace, port: int, pid: int) -> dict[str, Any]:
    handles, posts, state = world(args.db)
    # the stream depends on what the database holds: a run on a database that an earlier run
    # with the same seed wrote to would replay its follows and likes, which are states, so
    # they would change nothing (the follow graph then never ran out of its lag for ~10
    # minutes of every run before this); the same seed on the same database gives the same run
    stream_seed = f"{args.seed}:{state}"
    rnd = random.Random(stream_seed)
    memory: list[tuple[float, float]] = []
    open_loop = MAX_IN_FLIGHT if args.feed_rate > 0 else args.feed_concurrency
    connector = aiohttp.TCPConnector(limit=open_loop + 8)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{port}", connector=connector, timeout=timeout
    ) as client:
        # first requests pay for lazily built indexes (minutes on the large world)
        for kind in KINDS:
            long = aiohttp.ClientTimeout(total=900)
            async with client.get(
                f"/v1/users/{handles[0]}/feed", params={"kind": kind}, timeout=long
            ) as r:
                await r.read()
        warm: dict[str, Any] = {}
        if args.warmup > 0:  # the same load, not counted: caches fill as in a long-running server
            rec, elapsed = await load(args, client, handles, posts, rnd, args.warmup, None, pid)
            warm = {
                "warmup_s": round(elapsed, 1),
                "warmup_feed_rps": round(len(rec.feed_latency) / elapsed, 1),
                "warmup_feed_p99_ms": round(float(np.percentile(rec.feed_latency, 99)) * 1000, 1)
                if rec.feed_latency
                else None,
                "warmup_errors": rec.errors,
            }
        cpu0, own0, stalled0 = cpu_seconds(pid), time.process_time(), pressure_stalled()
        start = time.monotonic()
        rec, elapsed = await load(args, client, handles, posts, rnd, args.duration, memory, pid)
        cpu = {
            "server_cpu_cores": round((cpu_seconds(pid) - cpu0) / elapsed, 2),
            "client_cpu_cores": round((time.process_time() - own0) / elapsed, 2),
            "per_minute": per_minute(rec, start),
            "slow_seconds": slow_seconds(rec, start),
            "started_unix": round(time.time() - (time.monotonic() - start), 1),
            # share of the run in which some task waited for a CPU, for I/O, for memory
            "stalled_share": {
                k: round((v - stalled0[k]) / elapsed, 3) for k, v in pressure_stalled().items()
            },
        }
        try:  # a worker may still be busy (an index rebuild): the run's figures stand anyway
            async with client.get("/metrics", timeout=aiohttp.ClientTimeout(total=300)) as r:
                metrics = await r.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            print(f"/metrics not read: {type(exc).__name__}")
            metrics = ""
    summary = summarize(args, rec, memory, elapsed, metrics, len(handles), len(posts))
    return {**summary, **cpu, **warm, "stream_seed": stream_seed}


def per_minute(rec: Recorder, start: float) -> list[dict[str, float]]:
    """Feeds/s and p99 latency in each minute of the run (does the service slow down?)."""
    done, lat = np.array(rec.feed_done) - start, np.array(rec.feed_latency) * 1000
    out = []
    for m in range(int(done.max() // 60) + 1 if len(done) else 0):
        sel = (done >= 60 * m) & (done < 60 * (m + 1))
        span = min(60.0, float(done.max()) - 60 * m)
        if sel.sum() and span > 5:
            p99 = float(np.percentile(lat[sel], 99))
            out.append(
                {"minute": m + 1, "feed_rps": round(sel.sum() / span, 1), "p99_ms": round(p99, 1)}
            )
    return out


def slow_seconds(rec: Recorder, start: float, over_ms: float = 100.0) -> list[list[float]]:
    """``[second, answers, p99 ms]`` of every second of the run (counted from ``start``, by
    when the answers came) whose p99 was over ``over_ms``: when the stalls were, to set
    against the server's log of its rebuilds."""
    done, lat = np.array(rec.feed_done) - start, np.array(rec.feed_latency) * 1000
    out = []
    for s in np.unique(np.floor(done)).tolist():
        sel = np.floor(done) == s
        p99 = float(np.percentile(lat[sel], 99))
        if p99 > over_ms:
            out.append([int(s), int(sel.sum()), round(p99, 1)])
    return out


def summarize(
    args: argparse.Namespace,
    rec: Recorder,
    memory: list[tuple[float, float]],
    elapsed: float,
    metrics: str,
    n_accounts: int,
    n_posts: int,
) -> dict[str, Any]:
    feed = np.array(rec.feed_latency) * 1000
    ev = np.array(rec.event_latency) * 1000
    mem = np.array(memory)
    half = mem[len(mem) // 2 :] if len(mem) > 4 else mem
    slope = float(np.polyfit(half[:, 0], half[:, 1], 1)[0] * 60) if len(half) > 2 else 0.0
    refresh = [
        line
        for line in metrics.splitlines()
        if line.startswith(("discovery_snapshot_re", "discovery_snapshot_stale"))
        or (line.startswith("discovery_http_request_duration") and "/feed" in line)
    ]
    return {
        "db": str(args.db),
        "accounts": n_accounts,
        "posts": n_posts,
        "duration_s": round(elapsed, 1),
        "feed_concurrency": None if args.feed_rate > 0 else args.feed_concurrency,
        "feed_rate_target": args.feed_rate or None,
        "event_rate_target": args.event_rate,
        "unlike_share": args.unlike_share,
        "batch": args.batch,
        "nice": args.nice,
        "workers": args.workers,
        "feed_users": str(args.feed_users) if args.feed_users else "all",
        "feed_requests": len(feed),
        "feed_rps": round(len(feed) / elapsed, 1),
        "feed_p50_ms": round(float(np.percentile(feed, 50)), 1) if len(feed) else None,
        "feed_p99_ms": round(float(np.percentile(feed, 99)), 1) if len(feed) else None,
        "event_batches": len(ev),
        "events_per_s": round(rec.events_acked / elapsed, 1),
        "posts_written": rec.posts_written,
        "signups_written": rec.signups_written,
        "event_batch_p50_ms": round(float(np.percentile(ev, 50)), 1) if len(ev) else None,
        "event_batch_p99_ms": round(float(np.percentile(ev, 99)), 1) if len(ev) else None,
        "errors": rec.errors,
        "rss_mb_start": round(float(mem[0, 1]), 1) if len(mem) else None,
        "rss_mb_end": round(float(mem[-1, 1]), 1) if len(mem) else None,
        "rss_mb_max": round(float(mem[:, 1].max()), 1) if len(mem) else None,
        "rss_mb_per_min_second_half": round(slope, 2),
        "rss_samples": [[round(t, 1), round(m, 1)] for t, m in memory],
        "refresh_metrics": refresh,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("demo.db"))
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--feed-concurrency", type=int, default=8)
    parser.add_argument(
        "--feed-rate", type=float, default=0.0, help="feeds/s, open loop (0: closed loop)"
    )
    parser.add_argument("--event-rate", type=float, default=2000.0, help="events/s (0: none)")
    parser.add_argument("--batch", type=int, default=100, help="events per POST")
    parser.add_argument(
        "--unlike-share",
        type=share,
        default=0.0,
        help="share of the events that unlike a like the stream sent earlier (0: none)",
    )
    parser.add_argument(
        "--post-rate", type=float, default=0.0, help="new posts/s written to the store (0: none)"
    )
    parser.add_argument(
        "--signup-rate", type=float, default=0.0, help="new accounts/s written to the store"
    )
    parser.add_argument("--nice", type=int, default=10, help="nice level of the server (0: none)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="serve --workers N")
    parser.add_argument(
        "--warmup", type=float, default=0.0, help="seconds of the same load before measuring"
    )
    parser.add_argument("--json", type=Path, help="write the summary here")
    parser.add_argument(
        "--feed-users", type=Path, help="ask feeds only of these handles (a file, one a line)"
    )
    parser.add_argument(
        "--port", type=int, help="use a server already running on this port (with --pid)"
    )
    parser.add_argument("--pid", type=int, help="that server's process id (for its memory)")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        help="ranking setting NAME=VALUE for the server (repeatable)",
    )
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db}: no such database (discovery generate --size demo)")
    if args.port:
        summary = asyncio.run(run(args, args.port, args.pid))
    else:
        port = free_port()
        proc = start(args.db, port, args.nice, args.workers, args.settings)
        try:
            summary = asyncio.run(run(args, port, proc.pid))
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:  # busy catching up a large snapshot
                proc.kill()
                proc.wait()
    short = {k: v for k, v in summary.items() if k not in ("rss_samples", "refresh_metrics")}
    print(json.dumps(short, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
