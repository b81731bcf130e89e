"""``discovery batch embed`` (Ray Data map_batches) and ``discovery batch train als`` (one Ray
worker) give what the one-process commands give: the same vectors, the same model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from discovery.batch.jobs import RayOptions, ray_embed, ray_train_als
from discovery.embeddings.batch import embed_posts
from discovery.embeddings.encoders import FakeEncoder
from discovery.signals.als import ALSParams, load_als, save_als
from discovery.snapshot import load_snapshot
from discovery.store import Store
from discovery.world import generate_world

# loopback only (read when ray is imported)
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray", reason="the batch extra (Ray) is not installed")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("jobs") / "tiny.db"
    generate_world(path, size="tiny", images=False, seed=21)
    return path


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


def test_ray_data_embedding_equals_the_one_process_run(
    local_ray: None, tiny: Path, tmp_path: Path
) -> None:
    a, b = _copy(tiny, tmp_path / "a.db"), _copy(tiny, tmp_path / "b.db")
    with Store.open(a) as store:
        one = embed_posts(store, FakeEncoder("text"), tmp_path, batch=50, limit=300)
        want = store.vectors_since("fake-text@1")
    with Store.open(b) as store:
        got = ray_embed(store, "fake-text", tmp_path, RayOptions(workers=2), batch=50, limit=300)
        have = store.vectors_since("fake-text@1")
    assert got.embedded == one.embedded > 200
    assert dict(got.failed or {}) == dict(one.failed)
    order_a, order_b = np.argsort(want.posts), np.argsort(have.posts)
    assert np.array_equal(want.posts[order_a], have.posts[order_b])
    assert np.array_equal(want.data[order_a], have.data[order_b])
    with Store.open(b) as store:  # incremental: the rest, then nothing
        rest = ray_embed(store, "fake-text", tmp_path, RayOptions(), batch=50)
        last = ray_embed(store, "fake-text", tmp_path, RayOptions(), batch=50)
        posts = store.count("posts")
    skipped = sum((got.failed or {}).values()) + sum((rest.failed or {}).values())
    assert got.embedded + rest.embedded + skipped == posts
    assert last.embedded == 0


def test_image_failures_are_counted_not_fatal(local_ray: None, tiny: Path, tmp_path: Path) -> None:
    path = _copy(tiny, tmp_path / "img.db")
    with Store.open(path) as store:  # the tiny world without images: every image is missing
        got = ray_embed(store, "fake-image", tmp_path / "nowhere", RayOptions(), limit=40)
        one = embed_posts(store, FakeEncoder("image"), tmp_path / "nowhere", limit=40)
    assert got.embedded == one.embedded == 0
    assert sum((got.failed or {}).values()) == sum(one.failed.values()) == 40
    assert dict(got.failed or {}) == dict(one.failed)


def test_als_on_a_ray_worker_equals_the_local_fit(
    local_ray: None, tiny: Path, tmp_path: Path
) -> None:
    params = ALSParams(factors=8, iterations=5)
    a, b = _copy(tiny, tmp_path / "a.db"), _copy(tiny, tmp_path / "b.db")
    with Store.open(a) as store:
        _, local = save_als(store, load_snapshot(store), params)
    with Store.open(b) as store:
        version, remote = ray_train_als(store, params, RayOptions())
        loaded = load_als(store)
    assert version == 1 and loaded is not None and loaded.version == 1
    assert np.array_equal(local.user_keys, remote.user_keys)
    assert np.array_equal(local.post_keys, remote.post_keys)
    assert np.allclose(local.user_factors, remote.user_factors, atol=1e-6)
    assert np.allclose(local.item_factors, remote.item_factors, atol=1e-6)


def test_the_ranker_on_a_ray_worker_is_the_local_booster(
    local_ray: None, tiny: Path, tmp_path: Path
) -> None:
    from discovery.batch.jobs import ray_train_ranker
    from discovery.cli.train import ranker_examples
    from discovery.signals.learned import RankerParams, load_ranker, train_ranker

    params = RankerParams(rounds=20)
    path = _copy(tiny, tmp_path / "r.db")
    with Store.open(path) as store:
        kind, examples = ranker_examples(store, "impressions", 14, 60, 86_400)
        local = train_ranker(examples, params)
        version, remote = ray_train_ranker(store, examples, params, RayOptions(), kind)
        saved = load_ranker(store)
    assert kind == "impressions" and len(examples) > 100
    assert remote.text == local.text and remote.names == local.names
    assert saved is not None and saved.version == version == 1
    assert saved.meta["trained_from"] == "impressions"
    rows = examples.values[:50]
    assert np.array_equal(saved.predict(rows), local.predict(rows))
