"""`discovery serve --workers 2`: every worker sees every acknowledged event on its next read,
on both backends; on PostgreSQL a worker catches up on its own when another process commits."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

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
