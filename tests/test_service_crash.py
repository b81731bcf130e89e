"""Crash test: ``kill -9`` a real ``discovery serve`` while it ingests events in a loop, restart
it, and check that every event answered with a 2xx is in the store exactly once, with its effect
(the interaction row and the post's like count), and that replays are recognised — on both
backends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from discovery.store import Store
from worlds import NOW, POSTS, build_known_world

pytestmark = pytest.mark.slow

POST_IDS = [p[0] for p in POSTS]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path | str, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "discovery", "--db", str(db), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start in 60 s")


def event(n: int) -> dict[str, Any]:
    """Event number ``n``: a comment or a view of a known post at a distinct second."""
    return {
        "id": f"crash-{n}",
        "user": "me",
        # comments, not likes: a like is a per-user state (a second one changes nothing), and
        # this test needs every acknowledged event to leave exactly one row and one count
        "kind": "comment" if n % 2 == 0 else "view",
        "post": POST_IDS[n % len(POST_IDS)],
        "at": NOW + 10 + n,
    }


def test_kill_9_loses_no_acknowledged_event_and_applies_none_twice(store_url: str) -> None:
    db = store_url
    build_known_world(db).close()
    store = Store.open(db)
    likes_before = dict(store._fetch("SELECT id, comment_count FROM posts"))
    store.close()

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/events"
    server = start_server(db, port)
    acked: list[int] = []
    sent: list[int] = []
    stop = threading.Event()

    def post_loop() -> None:
        n = 0
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                batch = list(range(n, n + 10))
                n += 10
                sent.extend(batch)
                try:
                    r = client.post(url, json=[event(i) for i in batch])
                except httpx.HTTPError:
                    continue  # the server is gone: keep trying until told to stop
                if r.status_code == 200:
                    assert r.json()["accepted"] == 10
                    acked.extend(batch)

    worker = threading.Thread(target=post_loop)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while len(acked) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)  # mid-stream, no shutdown of any kind
        server.wait(10)
        time.sleep(0.2)
    finally:
        stop.set()
        worker.join(30)
        if server.poll() is None:
            server.kill()
    assert len(acked) >= 300

    store = Store.open(db)
    keys = {k for (k,) in store._fetch("SELECT event_id FROM events_seen")}
    rows = store._fetch(
        "SELECT post, kind, created_at, COUNT(*) FROM interactions WHERE created_at > ?"
        " GROUP BY post, kind, created_at",
        (NOW,),
    )
    likes_after = dict(store._fetch("SELECT id, comment_count FROM posts"))
    store.close()
    assert {f"1/crash-{n}" for n in acked} <= keys  # every acknowledged event survived
    stored = {(p, k, t): c for p, k, t, c in rows}
    assert all(c == 1 for c in stored.values())  # none twice
    for n in acked:
        e = event(n)
        assert stored[(e["post"], 1 if e["kind"] == "comment" else 5, e["at"])] == 1
    # every stored event has its effect, and only stored events do (same transaction)
    assert len(stored) == len(keys)
    likes = [event(int(k.split("-")[1])) for k in keys]
    for pid in POST_IDS:
        extra = sum(1 for e in likes if e["post"] == pid and e["kind"] == "comment")
        assert likes_after[pid] == likes_before[pid] + extra

    # restart and replay everything that was sent: acknowledged ids are all duplicates
    server = start_server(db, port)
    try:
        with httpx.Client(timeout=10) as client:
            statuses: dict[int, str] = {}
            for start in range(0, len(sent), 500):
                chunk = sent[start : start + 500]
                r = client.post(url, json=[event(i) for i in chunk])
                assert r.status_code == 200, r.text
                for i, res in zip(chunk, r.json()["results"], strict=True):
                    statuses[i] = res["status"]
            assert all(statuses[n] == "duplicate" for n in acked)
            assert {n for n, s in statuses.items() if s == "accepted"}.isdisjoint(acked)
            health = client.get(f"http://127.0.0.1:{port}/healthz").json()
            assert health["snapshot_counter"] == health["store_counter"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
    store = Store.open(db)
    n_keys = store._fetch("SELECT COUNT(*) FROM events_seen")[0][0]
    n_rows = store._fetch("SELECT COUNT(*) FROM interactions WHERE created_at > ?", (NOW,))[0][0]
    store.close()
    assert n_keys == n_rows == len(set(sent))
