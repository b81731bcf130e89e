"""``discovery batch embed`` and ``discovery batch train``: the learned-signal jobs on Ray.

Embedding runs as Ray Data ``map_batches`` over the store's worklist (posts without a vector of
the model): a pool of actors, each loading the encoder once, reads images (media folder or
http(s)) and encodes a batch; the driver writes the vectors back as batches come in, so an
interrupted run keeps what it wrote and the next one resumes (the worklist is incremental).
A GPU node takes the actors when one exists (``gpus``); here they run on CPUs.

Training runs the fit on one Ray worker: the snapshot goes to the object store, the worker
fits, the driver saves the artifact (so the worker needs no access to the database).
"""

from __future__ import annotations

import os
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..store import Store
from ..store.vectors import EmbedInput

__all__ = [
    "EncodeBatch",
    "RayOptions",
    "ray_embed",
    "ray_train_als",
    "ray_train_ranker",
    "start_ray",
]


@dataclass(frozen=True)
class RayOptions:
    """Where to run: an existing cluster (``address``) or a local one with ``workers`` CPUs;
    ``gpus`` per embedding actor (0 on a CPU-only cluster)."""

    address: str | None = None
    workers: int | None = None
    gpus: float = 0.0


def start_ray(options: RayOptions) -> tuple[Any, bool]:
    """The ``ray`` module, initialised; True when this call started the cluster."""
    if options.address is None:  # a cluster of our own listens on loopback only
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - the extra is part of dev
        raise InputError("Ray is not installed: pip install 'discovery-engine[batch]'") from exc
    if ray.is_initialized():
        return ray, False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if options.address is None:
        kwargs["num_cpus"] = options.workers or os.cpu_count() or 1
    try:
        ray.init(address=options.address, **kwargs)
    except ConnectionError as exc:
        raise InputError(f"cannot reach the Ray cluster at {options.address}: {exc}") from exc
    return ray, True


class EncodeBatch:
    """A Ray Data actor: loads the encoder once, then turns batches of posts into vectors.

    A batch is columns ``post``, ``image`` (path or URL, '' when none) and ``text``; the output
    adds ``vector`` (float32, zeros where it failed) and ``failure`` ('' when it worked).
    """

    def __init__(self, model: str, media_dir: str, timeout: float) -> None:
        from ..embeddings.encoders import get_encoder

        self.encoder = get_encoder(model)
        self.media_dir, self.timeout = Path(media_dir), timeout

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from ..embeddings.images import load_image

        n = len(batch["post"])
        failure = np.array([""] * n, dtype=object)
        inputs: list[Any] = []
        ok: list[int] = []
        for i in range(n):
            if self.encoder.kind == "image":
                res = load_image(
                    str(batch["image"][i]) or None, self.media_dir, timeout=self.timeout
                )
                if res.failure is not None:
                    failure[i] = res.failure
                    continue
                inputs.append(res.image)
            else:
                text = str(batch["text"][i])
                if not text:
                    failure[i] = "no-text"
                    continue
                inputs.append(text)
            ok.append(i)
        vectors = np.zeros((n, self.encoder.dim), np.float32)
        if ok:
            vectors[ok] = np.asarray(self.encoder.encode(inputs), np.float32)
        return {"post": np.asarray(batch["post"]), "vector": vectors, "failure": failure}


@dataclass
class RayEmbedSummary:
    """Vectors written, posts skipped by reason, wall time."""

    model: str
    embedded: int = 0
    failed: Counter[str] | None = None
    seconds: float = 0.0


def ray_embed(
    store: Store,
    model: str,
    media_dir: Path,
    options: RayOptions,
    *,
    batch: int = 64,
    limit: int | None = None,
    timeout: float = 10.0,
    progress: Callable[[int], None] | None = None,
) -> RayEmbedSummary:
    """Embed the posts without a ``model`` vector with Ray Data ``map_batches``; the vectors
    equal those of ``discovery embed`` (same encoder, same inputs)."""
    from ..embeddings.batch import post_text
    from ..embeddings.encoders import get_encoder

    name = get_encoder(model).name
    started = time.perf_counter()
    todo: list[EmbedInput] = []
    after = -1
    while limit is None or len(todo) < limit:
        page = store.posts_to_embed(name, after=after, limit=5000)
        if not page:
            break
        todo += page
        after = page[-1].post
    todo = todo[:limit] if limit is not None else todo
    summary = RayEmbedSummary(name, failed=Counter())
    if not todo:
        return summary
    ray, started_here = start_ray(options)
    try:
        # Ray Data's context warns about its own deprecated options at first use
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray\.data")
        items = [{"post": p.post, "image": p.image or "", "text": post_text(p)} for p in todo]
        ds = ray.data.from_items(items)
        out = ds.map_batches(
            EncodeBatch,
            fn_constructor_kwargs={"model": model, "media_dir": str(media_dir), "timeout": timeout},
            batch_size=batch,
            batch_format="numpy",
            concurrency=max(1, options.workers or 1),
            num_cpus=1,
            num_gpus=options.gpus or None,
        )
        for b in out.iter_batches(batch_size=batch, batch_format="numpy"):
            good = b["failure"] == ""
            for reason in b["failure"][~good]:
                summary.failed[str(reason)] += 1  # type: ignore[index]
            if good.any():
                posts = [int(p) for p in b["post"][good]]
                summary.embedded += store.add_vectors(name, posts, b["vector"][good])
            if progress is not None:
                progress(len(b["post"]))
    finally:
        if started_here:
            ray.shutdown()
    summary.seconds = time.perf_counter() - started
    return summary


def _keys(store: Store, table: str, ids: np.ndarray) -> np.ndarray:
    """External keys of ``ids`` (``id:<n>`` for a row without one), as ``save_als`` keys them."""
    found = store.external_keys(table, [int(i) for i in ids])
    return np.array([found.get(int(i), f"id:{int(i)}") for i in ids], dtype=str)


def _fit_als(snap: Any, user_keys: np.ndarray, post_keys: np.ndarray, params: Any) -> Any:
    from ..signals.als import train_als

    return train_als(snap, user_keys, post_keys, params)


def ray_train_als(store: Store, params: Any, options: RayOptions) -> tuple[int, Any]:
    """Fit ALS on one Ray worker and save it as the next ``als`` artifact; ``(version,
    model)`` — the same model as ``discovery train als`` (same seed, one thread)."""
    import dataclasses

    from ..signals.als import ARTIFACT
    from ..snapshot import load_snapshot

    snap = load_snapshot(store)
    user_keys, post_keys = (
        _keys(store, "accounts", snap.account_id),
        _keys(store, "posts", snap.post_id),
    )
    ray, started_here = start_ray(options)
    try:
        task = ray.remote(num_cpus=1, max_retries=2)(_fit_als)
        model = ray.get(task.remote(dataclasses.replace(snap), user_keys, post_keys, params))
    finally:
        if started_here:
            ray.shutdown()
    version = store.save_artifact(ARTIFACT, model.to_bytes(), model.meta)
    return version, model


def _fit_ranker(examples: Any, params: Any) -> Any:
    from ..signals.learned import train_ranker

    return train_ranker(examples, params)


def ray_train_ranker(
    store: Store, examples: Any, params: Any, options: RayOptions, trained_from: str = ""
) -> tuple[int, Any]:
    """Fit the learned ranker on one Ray worker (the training lists travel through the object
    store) and save it as the next ``ranker`` artifact; ``(version, model)`` — the booster
    ``discovery train ranker`` fits (LightGBM, one thread, deterministic)."""
    from ..signals.learned import save_ranker

    ray, started_here = start_ray(options)
    try:
        task = ray.remote(num_cpus=1, max_retries=2)(_fit_ranker)
        model = ray.get(task.remote(examples, params))
    finally:
        if started_here:
            ray.shutdown()
    if trained_from:
        model.meta["trained_from"] = trained_from
    return save_ranker(store, model), model
