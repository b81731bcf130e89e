"""`discovery serve --workers 2`: every worker sees every acknowledged event on its next read,
on both backends; on PostgreSQL a worker catches up on its own when another process commits."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from discovery.service.state import Service
from discovery.store import Store
from worlds import build_known_world


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_workers_agree_on_events(store_url: str) -> None:
    build_known_world(store_url).close()
    port = free_port()
    cmd = [sys.executable, "-m", "discovery", "--db", store_url, "serve", "--port", str(port)]
    server = subprocess.Popen([*cmd, "--workers", "2"], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "server did not start"
            time.sleep(0.3)

        def explore() -> list[int]:
            # a fresh connection each time, so the kernel spreads requests over the workers
            with httpx.Client(timeout=10) as client:
                r = client.get(f"{base}/v1/users/me/feed", params={"kind": "explore", "limit": 20})
            assert r.status_code == 200, r.text
            return [item["post_id"] for item in r.json()["items"]]

        assert 202 in explore()
        events = [
            {"id": "w-1", "user": "me", "kind": "hide", "post": 202},
            {"id": "w-2", "user": "me", "kind": "follow", "target": "cy"},
        ]
        r = httpx.post(f"{base}/v1/events", json=events, timeout=10)
        assert r.status_code == 200 and r.json()["accepted"] == 2
        for _ in range(30):
            shown = explore()
            assert 202 not in shown and 201 not in shown  # hidden; cy is now followed
        with httpx.Client(timeout=10) as client:
            timeline = client.get(f"{base}/v1/users/me/feed", params={"kind": "timeline"}).json()
        assert 201 in [item["post_id"] for item in timeline["items"]]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_postgresql_worker_catches_up_without_a_request(pg_url: str) -> None:
    build_known_world(pg_url).close()
    service = Service(pg_url)
    try:
        before = service.engine.snapshot.counter
        with Store.open(pg_url) as other:  # another process, or another host
            with other.transaction():
                other.add_accounts([(999, "newbie", "", "person", 1)])
            target = other.change_counter
        deadline = time.monotonic() + 5
        while service.engine.snapshot.counter != target and time.monotonic() < deadline:
            time.sleep(0.01)
        assert before < target == service.engine.snapshot.counter  # NOTIFY woke the follower
    finally:
        service.close()


def _workers(server: subprocess.Popen[bytes]) -> set[int]:
    """The pids of the server's uvicorn workers (spawned children, not the resource tracker)."""
    out = set()
    for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"spawn_main" in cmdline:
            out.add(int(pid))
    return out


def _wait_healthy(base: str, server: subprocess.Popen[bytes], n: int) -> set[int]:
    deadline = time.time() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200 and (
                len(_workers(server)) == n
            ):
                return _workers(server)
        except httpx.HTTPError:
            pass
        assert time.time() < deadline, "server did not start"
        time.sleep(0.3)


@pytest.mark.slow
@pytest.mark.parametrize(("allowed", "stall", "replaced"), [(60, 8, False), (2, 6, True)])
def test_a_busy_worker_is_not_killed_by_the_health_ping(
    tmp_path: Path, allowed: int, stall: int, replaced: bool
) -> None:
    """A worker that answers nothing for ``stall`` seconds (stopped with SIGSTOP, as one long
    numpy call holding the GIL stalls its ping thread) survives with the default allowance
    (uvicorn's own 5 s killed it mid-request on the large world); with ``--worker-healthcheck
    2`` the same stall gets it replaced, so the option is what keeps it."""
    db = tmp_path / "known.db"
    build_known_world(db).close()
    port = free_port()
    cmd = [sys.executable, "-m", "discovery", "--db", str(db), "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*cmd, "--workers", "2", "--worker-healthcheck", str(allowed)], stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        before = _wait_healthy(base, server, 2)
        victim = min(before)
        os.kill(victim, signal.SIGSTOP)
        time.sleep(stall)
        with contextlib.suppress(ProcessLookupError):  # gone when it was replaced
            os.kill(victim, signal.SIGCONT)
        time.sleep(3)  # the supervisor pings every 0.5 s
        after = _wait_healthy(base, server, 2)
        assert (victim not in after) is replaced
        assert (after == before) is not replaced
    finally:
        server.terminate()
        server.wait(timeout=30)
