"""``serve --workers N``: one listening socket per worker, balanced by the kernel.

uvicorn's supervisor binds one socket and every worker accepts on it. When connections arrive
in a burst, the first worker to wake takes them all (asyncio accepts up to the backlog per
wake-up), and a keep-alive connection stays with the worker that accepted it. Under an open
loop on the large world that left one of two workers answering 65–72 % of the feeds at 100
feeds/s, saturated while the other idled (``bench/README.md``, "The open loop did not get
better").

Here each worker binds its own socket to the same address with ``SO_REUSEPORT``; Linux then
assigns every new connection to one of the listening sockets by a hash of its addresses
(``SO_REUSEPORT``, socket(7); ``reuseport`` groups, Linux ≥ 3.9), so connections split evenly
whoever is awake. What changes for a client: nothing but the balance. A worker that stalls
holds its share of the *new* connections until it accepts them, where a shared socket would
have handed them to the other; a stall of seconds was already a stall of every request queued
on that worker's keep-alive connections, so the open loop's tail is not made worse by it.

uvicorn keeps its supervisor (health pings, replacement of a dead worker): it is handed a
:class:`PerWorkerSocket` in place of the socket, and what reaches each spawned worker, pickled,
is the recipe to bind its own. Where the platform has no ``SO_REUSEPORT`` (Windows), the caller
keeps uvicorn's shared socket (:func:`reuse_port_supported`).
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["PerWorkerSocket", "bind_reuse_port", "reuse_port_supported", "run_workers"]

#: uvicorn's exit status for a worker that could not start (its supervisor then stops).
_STARTUP_FAILURE = 3


def reuse_port_supported() -> bool:
    """Whether this platform balances connections over ``SO_REUSEPORT`` sockets (Linux, BSDs)."""
    return hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith(("linux", "freebsd"))


def bind_reuse_port(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT`` (and ``SO_REUSEADDR``, as
    uvicorn binds), not yet listening: asyncio's ``create_server`` listens on it. Called in a
    worker when its :class:`PerWorkerSocket` is unpickled; a bind that fails there ends the
    worker with uvicorn's start-up failure status, which stops the supervisor instead of
    restarting the worker forever."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        print(f"worker: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        sys.exit(_STARTUP_FAILURE)
    return sock


@dataclass(frozen=True)
class PerWorkerSocket:
    """Stands in for the listening socket uvicorn's supervisor passes to every worker it
    spawns: unpickled in the worker, it is that worker's own socket
    (:func:`bind_reuse_port`), so no two workers share one. The supervisor itself never binds
    or listens."""

    host: str
    port: int

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return bind_reuse_port, (self.host, self.port)


def run_workers(app: str, *, workers: int, host: str, port: int, **options: Any) -> None:
    """Run ``app`` (an import string of an app factory) in ``workers`` processes under
    uvicorn's supervisor, each listening on its own ``SO_REUSEPORT`` socket; ``options`` are
    :class:`uvicorn.Config`'s (log level, health-check allowance, ...)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(app, factory=True, workers=workers, host=host, port=port, **options)
    # what uvicorn.run does for workers > 1, with each worker's socket in place of a shared one
    Multiprocess(config, sockets=[PerWorkerSocket(host, port)]).run()  # type: ignore[list-item]
