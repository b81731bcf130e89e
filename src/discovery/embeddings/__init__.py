"""Image and caption embeddings: encoders, incremental batch embedding, a nearest-neighbour
index and the in-memory vectors "more like this" ranks with.

Heavy models (torch, sentence-transformers, onnxruntime) load only when an encoder is asked
for (:func:`get_encoder`); importing this package needs numpy alone.
"""

from .ann import ExactIndex, HnswIndex, make_index, recall_at_k
from .encoders import Encoder, FakeEncoder, get_encoder, normalize_rows
from .similar import PostVectors, VectorCache

__all__ = [
    "Encoder",
    "ExactIndex",
    "FakeEncoder",
    "HnswIndex",
    "PostVectors",
    "VectorCache",
    "get_encoder",
    "make_index",
    "normalize_rows",
    "recall_at_k",
]
