"""One way to serve a fake: an ASGI app on a free loopback port in a background thread."""

from __future__ import annotations

import threading
import time
from typing import Any

__all__ = ["LocalServer"]


class LocalServer:
    """``uvicorn`` serving ``app`` on 127.0.0.1:<free port>; ``url`` once started."""

    def __init__(self, app: Any, name: str) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
        self.name = name
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.url = ""

    def start(self) -> str:
        self._thread.start()
        deadline = time.time() + 20
        while not self._server.started:
            if time.time() > deadline:
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
