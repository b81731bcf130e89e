"""`discovery serve --workers 2`: every worker sees every acknowledged event on its next read,
on both backends; on PostgreSQL a worker catches up on its own when another process commits."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from discovery.service.state import Service
from discovery.service.workers import PerWorkerSocket, bind_reuse_port, reuse_port_supported
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


def _established_by_worker(port: int, pids: set[int]) -> dict[int, int]:
    """How many established connections on ``port`` each worker holds (from /proc: the
    connections' socket inodes in ``/proc/net/tcp``, the workers' open descriptors)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                inodes.add(fields[9])
    out = {}
    for pid in pids:
        held = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                held += link.startswith("socket:[") and link[8:-1] in inodes
        out[pid] = held
    return out


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_burst_of_connections_is_spread_over_the_workers(tmp_path: Path) -> None:
    """40 connections opened at once, each kept alive after one request, end up split between
    the two workers: each worker listens on its own SO_REUSEPORT socket and the kernel hashes
    every connection to one of them. With the socket uvicorn shares, the first worker to wake
    accepted the whole burst (asyncio accepts up to the backlog per wake-up), and a keep-alive
    connection stays where it was accepted — one worker then answered most of an open loop's
    feeds. Each worker holds at least 8 of the 40 (binomial, p = 1/2: fails by chance with
    probability about 2e-5)."""
    db = tmp_path / "known.db"
    build_known_world(db).close()
    port = free_port()
    cmd = [sys.executable, "-m", "discovery", "--db", str(db), "serve", "--port", str(port)]
    server = subprocess.Popen([*cmd, "--workers", "2"], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    conns: list[socket.socket] = []
    try:
        pids = _wait_healthy(base, server, 2)
        time.sleep(1)  # the health checks' own connections closed
        conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(40)]
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
        for c in conns:
            c.sendall(request)
        for c in conns:
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
        held = _established_by_worker(port, pids)
        assert sum(held.values()) == 40
        assert min(held.values()) >= 8, held
    finally:
        for c in conns:
            c.close()
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.skipif(not reuse_port_supported(), reason="no SO_REUSEPORT on this platform")
def test_each_unpickled_stand_in_is_a_socket_of_its_own_on_the_same_port() -> None:
    """What each spawned worker receives: the stand-in, pickled, becomes a fresh socket bound
    to the same address with SO_REUSEPORT; the supervisor's object binds nothing itself."""
    port = free_port()
    stand_in = PerWorkerSocket("127.0.0.1", port)
    with socket.socket() as probe:  # the supervisor's stand-in left the port free
        probe.bind(("127.0.0.1", port))
    first, second = (pickle.loads(pickle.dumps(stand_in)) for _ in range(2))
    try:
        for sock in (first, second):
            assert isinstance(sock, socket.socket) and sock.fileno() != -1
            assert sock.getsockname() == ("127.0.0.1", port)
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        first.listen()
        second.listen()  # both listen: one group, the kernel picks per connection
    finally:
        first.close()
        second.close()


def test_a_worker_that_cannot_bind_ends_with_the_start_up_failure_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A port taken after ``serve`` checked it (by a socket without SO_REUSEPORT): the worker
    exits with uvicorn's start-up failure status (3), which stops the supervisor rather than
    respawning the worker forever, and says why in one line."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exit_:
            bind_reuse_port("127.0.0.1", port)
    assert exit_.value.code == 3
    assert capsys.readouterr().err.strip() == (
        f"worker: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
