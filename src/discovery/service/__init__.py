"""The HTTP face: a FastAPI app over one engine (``discovery serve``).

:func:`create_app` builds it; :mod:`.views` builds every JSON body (the HTML pages reuse them);
:mod:`.api` holds the ``/v1`` routes, :mod:`.auth` the tokens, :mod:`.events` ingestion.
FastAPI is imported only when this package is, never by ``import discovery``.
"""

from .app import create_app
from .state import Service

__all__ = ["Service", "create_app"]
