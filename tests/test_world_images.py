"""Generated images (deterministic, topic signal with noise), media files, real photos, sizes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from discovery.errors import InputError
from discovery.store import Store
from discovery.world import SIZES, TOPICS, generate_world, media_dir, plan, render_post_image

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "food-photos"


def _jpeg(image) -> np.ndarray:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=75)
    return np.asarray(Image.open(buf))


def _features(topic: int, post: int) -> np.ndarray:
    a = np.asarray(render_post_image(post, topic, 42), dtype=np.float64) / 255
    # Coarse colour histogram (4 levels per channel) + mean edge strength.
    q = (a * 3.999).astype(int)
    hist = (
        np.bincount((q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]).ravel(), minlength=64)
        / q[..., 0].size
    )
    edges = np.abs(np.diff(a.mean(axis=2), axis=1)).mean()
    return np.concatenate([hist, [edges * 4]])


def test_render_is_deterministic_and_noisy() -> None:
    a = np.asarray(render_post_image(5, 3, 42))
    assert a.shape == (128, 128, 3)
    assert np.array_equal(a, np.asarray(render_post_image(5, 3, 42)))
    assert not np.array_equal(a, np.asarray(render_post_image(6, 3, 42)))
    assert not np.array_equal(a, np.asarray(render_post_image(5, 3, 43)))


def test_images_carry_topic_signal() -> None:
    # Nearest centroid on colour histograms: far above the 1-in-24 chance level, not perfect.
    train = {
        t: np.mean([_features(t, 1000 * t + i) for i in range(12)], axis=0)
        for t in range(len(TOPICS))
    }
    centroids = np.array([train[t] for t in range(len(TOPICS))])
    hits = total = 0
    for t in range(len(TOPICS)):
        for i in range(100, 108):
            f = _features(t, 1000 * t + i)
            hits += int(np.argmin(((centroids - f) ** 2).sum(axis=1)) == t)
            total += 1
    assert 0.5 <= hits / total < 1.0


def test_generate_writes_image_files(tmp_path: Path) -> None:
    db = tmp_path / "img.db"
    summary = generate_world(db, "tiny", users=20)
    assert summary["images"] == "files"
    with Store.open(db, create=False) as s:
        rows = s._fetch(
            "SELECT p.id, p.image, t.topic FROM posts p JOIN truth_posts t ON t.post = p.id"
        )
    assert rows and all(img == f"p/{pid // 1000 % 1000:03d}/{pid:06d}.jpg" for pid, img, _ in rows)
    pid, img, topic = rows[len(rows) // 2]
    from PIL import Image

    with Image.open(media_dir(db) / img) as im:
        assert im.size == (128, 128)
        # The file is the lazy renderer's picture, JPEG-encoded.
        assert np.array_equal(np.asarray(im), _jpeg(render_post_image(pid, topic, 42)))
    assert not Path(str(db) + ".tmp").exists() and not Path(str(media_dir(db)) + ".tmp").exists()


def test_no_images_and_lazy_images(tmp_path: Path) -> None:
    generate_world(tmp_path / "off.db", "tiny", users=20, images=False)
    generate_world(tmp_path / "lazy.db", "tiny", users=20, images="lazy")
    with Store.open(tmp_path / "off.db", create=False) as s:
        assert s._fetch("SELECT COUNT(*) FROM posts WHERE image IS NOT NULL") == [(0,)]
    with Store.open(tmp_path / "lazy.db", create=False) as s:
        assert s._fetch("SELECT COUNT(*) FROM posts WHERE image IS NULL") == [(0,)]
    assert not media_dir(tmp_path / "lazy.db").exists()


@pytest.mark.skipif(not PHOTOS.is_dir(), reason="../shared/data/food-photos not present")
def test_real_photos_give_images_and_tags(tmp_path: Path) -> None:
    db = tmp_path / "photos.db"
    generate_world(db, "tiny", users=40, photos_dir=PHOTOS)
    with Store.open(db, create=False) as s:
        rows = s._fetch("SELECT image, caption FROM posts WHERE image LIKE 'photos/%'")
        tags = {t for (t,) in s._fetch("SELECT tag FROM hashtags")}
    assert len(rows) > 20
    assert all((media_dir(db) / img).is_file() for img, _ in rows[:50])
    assert {"foodporn", "yummy"} & tags


def test_bad_photos_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--photos: .*photos.json not found"):
        generate_world(tmp_path / "x.db", "tiny", users=20, photos_dir=tmp_path)
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "x.db.tmp").exists()


def test_sizes_and_users_interpolate() -> None:
    tiny, demo, large = (plan(s) for s in ("tiny", "demo", "large"))
    assert (tiny.users, demo.users, large.users) == (SIZES["tiny"][0], 2_000, 1_000_000)
    assert large.images == "lazy" and demo.images == "files"
    assert plan("demo", users=100_000, images=True).images == "lazy"
    mid = plan("demo", users=44_721)  # geometric middle of demo and large
    assert mid.posts_per_user == pytest.approx(
        (demo.posts_per_user + large.posts_per_user) / 2, abs=0.01
    )
    # The sizes differ only in name and theme (the demo world shows photographs).
    same = dataclasses.replace(plan("large", users=2_000), size="demo", theme="food")
    assert same == plan("demo")
    with pytest.raises(InputError, match="--size"):
        plan("huge")
    with pytest.raises(InputError, match="--users"):
        plan("demo", users=5)


def test_lazy_images_render_on_first_request(tmp_path: Path) -> None:
    from discovery.world.images import render_missing

    db = tmp_path / "lazy.db"
    generate_world(db, "tiny", users=20, images="lazy")
    with Store.open(db, create=False) as s:
        pid, img, topic = s._fetch(
            "SELECT p.id, p.image, t.topic FROM posts p JOIN truth_posts t ON t.post = p.id LIMIT 1"
        )[0]
        root = tmp_path / "media"
        path = render_missing(s, root, img)
        assert path == root / img and path.is_file()
        assert render_missing(s, root, "p/000/999999.jpg") is None  # no such post
        assert render_missing(s, root, "../etc/passwd") is None
    from PIL import Image

    with Image.open(path) as im:
        assert np.array_equal(np.asarray(im), _jpeg(render_post_image(pid, topic, 42)))
