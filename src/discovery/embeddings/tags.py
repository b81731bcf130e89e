"""Text vectors of hashtag names, for the hashtag clusters.

``#rockclimbing`` and ``#climbing`` keep the same company on posts, and their names say the
same thing too: :func:`discovery.signals.clusters.tag_clusters` mixes the two similarities,
``(1 - β)·cos_PPMI + β·cos_text``. ``discovery embed --text`` encodes every hashtag name that
has no vector yet with the text model (all-MiniLM-L6-v2) and saves them all as the next
version of the ``tag_vectors`` artifact (float16, the model's name and the tag names in the
meta); the engine, the batch jobs and the simulator load the newest version and hand it to the
snapshot's clusters (:func:`~discovery.signals.clusters.use_tag_vectors`).

A name with no letter or digit (``#🧗``, ``#🍣🍣``) gets no vector: the text model reads every
emoji as the same unknown token, so their names would all look alike; emoji tags join their
interest by co-occurrence alone.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .encoders import Encoder

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["ARTIFACT", "TagVectors", "embed_tags", "load_tag_vectors", "tag_text"]

#: The artifact tag vectors are saved under.
ARTIFACT = "tag_vectors"
_WORDY = re.compile(r"[^\W_]", re.UNICODE)  # a letter or a digit, any script


def tag_text(name: str) -> str | None:
    """What the text model reads for a hashtag: its name, or None for a name without a letter
    or digit (emoji, punctuation).

    >>> tag_text("rockclimbing"), tag_text("🧗"), tag_text("café")
    ('rockclimbing', None, 'café')
    """
    return name if _WORDY.search(name) else None


@dataclass(frozen=True)
class TagVectors:
    """Unit vectors of hashtag names by one text model: ``data[i]`` is ``names[i]``'s."""

    model: str
    names: np.ndarray  # str
    data: np.ndarray  # float16, len(names) × dim
    version: int = 0
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update((str(n), i) for i, n in enumerate(self.names.tolist()))

    def __len__(self) -> int:
        return len(self.names)

    @property
    def key(self) -> tuple[str, int, int]:
        """``(model, version, names)``: equal for a copy (a batch worker's), so the clusters
        it built with them are kept (:func:`~discovery.signals.clusters.use_tag_vectors`)."""
        return self.model, self.version, len(self.names)

    def rows(self, names: Sequence[str] | np.ndarray) -> np.ndarray:
        """float64 ``len(names) × dim``: each name's vector, zeros for a name without one (the
        clustering then uses co-occurrence alone for it)."""
        out = np.zeros((len(names), self.data.shape[1] if self.data.ndim == 2 else 0))
        for i, name in enumerate(np.asarray(names).tolist()):
            j = self._index.get(str(name))
            if j is not None:
                out[i] = self.data[j]
        return out

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.save(buf, self.data.astype(np.float16), allow_pickle=False)
        return buf.getvalue()


def load_tag_vectors(store: Store) -> TagVectors | None:
    """The newest ``tag_vectors`` artifact; None when the store has none."""
    from ..store import NotFound

    try:
        art = store.load_artifact(ARTIFACT)
    except NotFound:
        return None
    try:
        data = np.load(io.BytesIO(art.data), allow_pickle=False)
        tags = art.meta.get("tags", [])
        names = np.array([str(n) for n in tags if isinstance(n, str)], dtype=str)
    except (ValueError, OSError, EOFError, TypeError, AttributeError):
        return None  # not written by this module: ignored rather than trusted
    if not isinstance(data, np.ndarray) or data.ndim != 2 or len(data) != len(names):
        return None
    if not np.issubdtype(data.dtype, np.floating) or not np.isfinite(data).all():
        return None
    return TagVectors(str(art.meta.get("model", "")), names, data, art.version)


def embed_tags(store: Store, encoder: Encoder, names: Sequence[str], *, keep: int = 2) -> int:
    """Encode the hashtag ``names`` that the newest ``tag_vectors`` of ``encoder.name`` lacks
    and save all of them as the next version (keeping ``keep`` versions); returns how many
    names were encoded (0: nothing saved). Another model's vectors are replaced, not mixed."""
    if encoder.kind != "text":
        raise ValueError(f"{encoder.name} is not a text model")
    held = load_tag_vectors(store)
    if held is not None and held.model != encoder.name:
        held = None
    known = set() if held is None else set(held.names.tolist())
    todo = sorted({n for n in names if n not in known and tag_text(n) is not None})
    if not todo:
        return 0
    fresh = np.asarray(encoder.encode([tag_text(n) for n in todo]), np.float32)
    if held is not None and len(held):
        all_names = np.concatenate([held.names, np.array(todo, dtype=str)])
        data = np.vstack([held.data.astype(np.float16), fresh.astype(np.float16)])
    else:
        all_names, data = np.array(todo, dtype=str), fresh.astype(np.float16)
    out = TagVectors(encoder.name, all_names, data)
    meta = {"model": encoder.name, "dim": int(data.shape[1]), "tags": all_names.tolist()}
    store.save_artifact(ARTIFACT, out.to_bytes(), meta)
    store.prune_artifacts(ARTIFACT, keep)
    return len(todo)
