"""The web pages and the network view (the browser face of the engine).

``include_web(app)`` adds the pages to the FastAPI app of :mod:`discovery.service`; the
network view (:mod:`.network`, :mod:`.standalone`) also works without a server, for
``discovery graph``. Nothing here is imported by ``import discovery``, and importing this
package pulls in no web framework.
"""

from __future__ import annotations

from typing import Any

__all__ = ["include_web"]


def include_web(app: Any) -> None:
    """Add the HTML pages, sign-in, their form actions, static files and the graph library
    to ``app``."""
    from . import accounts, actions, pages

    # before the pages: their last route, "/u/{handle:path}", would take "/u/ana/profile"
    app.include_router(accounts.router)
    app.include_router(pages.router)
    app.include_router(actions.router)
    accounts.install_sign_in(app)
