"""The trained models an engine opens with: the newest version of each stored artifact.

``discovery train als`` and ``discovery train ranker`` save versioned artifacts in the store;
:meth:`Engine.open <discovery.engine.Engine.open>` hands what this loads to the source and
ranker factories (``artifacts["als"]``, ``artifacts["ranker"]``). A store without them gives
an empty mapping, and the feeds run on the hand-written parts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["load_artifacts"]


def load_artifacts(store: Store) -> dict[str, Any]:
    """``{"als": LoadedALS, "ranker": LearnedModel, "tag_vectors": TagVectors}`` for the
    artifacts the store holds (the hashtag name vectors go to the snapshot's clusters:
    :func:`~discovery.signals.clusters.use_tag_vectors`)."""
    from ..embeddings.tags import load_tag_vectors
    from .als import load_als
    from .learned import load_ranker

    out: dict[str, Any] = {}
    tags = load_tag_vectors(store)
    if tags is not None:
        out["tag_vectors"] = tags
    als = load_als(store)
    if als is not None:
        out["als"] = als
    ranker = load_ranker(store)
    if ranker is not None:
        out["ranker"] = ranker
    return out
