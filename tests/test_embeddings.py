"""Embeddings with the tiny fake encoder: image reading and its failures (a real local HTTP
server), incremental batches, the in-memory vectors, and "more like this" on a world whose
right answer is known."""

from __future__ import annotations

import http.server
import io
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from discovery.embeddings import FakeEncoder, VectorCache
from discovery.embeddings.batch import embed_posts
from discovery.embeddings.images import load_image
from discovery.engine import Engine
from discovery.store import Store


def png(color: tuple[int, int, int], size: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, "PNG")
    return buf.getvalue()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow.png":
            time.sleep(1.5)
        if self.path in ("/red.png", "/slow.png"):
            body, kind = png((255, 0, 0)), "image/png"
        elif self.path == "/page.png":
            body, kind = b"<html>not an image</html>", "text/html"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def image_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_load_image_reads_files_and_urls_and_names_each_failure(tmp_path, image_server) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "blue.png").write_bytes(png((0, 0, 255)))
    (media / "junk.jpg").write_bytes(b"\xff\xd8 truncated")
    (tmp_path / "secret.png").write_bytes(png((0, 255, 0)))
    ok = load_image("blue.png", media)
    assert ok.failure is None and ok.image.getpixel((3, 3)) == (0, 0, 255)
    web = load_image(f"{image_server}/red.png", media)
    assert web.failure is None and web.image.getpixel((0, 0)) == (255, 0, 0)
    cases = {
        None: "no-image",
        "absent.png": "missing",
        "../secret.png": "missing",  # outside the media folder
        "junk.jpg": "not-image",
        f"{image_server}/gone.png": "http",
        f"{image_server}/page.png": "not-image",
        f"{image_server}/slow.png": "timeout",
        "http://127.0.0.1:9/closed.png": "http",  # connection refused
    }
    for image, failure in cases.items():
        assert load_image(image, media, timeout=0.5).failure == failure, image


def _image_world(path: Path, server: str) -> Store:
    """Six posts: two red and one blue picture that load, and one of each failure."""
    store = Store.open(path)
    media = Path(str(store.path) + ".media")
    media.mkdir()
    (media / "red.png").write_bytes(png((250, 10, 10)))
    (media / "blue.png").write_bytes(png((10, 10, 250)))
    rows = [
        (1, "red.png"),
        (2, f"{server}/red.png"),
        (3, "blue.png"),
        (4, "nowhere.png"),
        (5, f"{server}/gone.png"),
        (6, f"{server}/slow.png"),
        (7, None),
    ]
    with store.transaction():
        store.add_accounts([(1, "ana", "Ana", "person", 0)])
        store.add_posts((pid, 1, 100 + pid, f"post {pid}", "photo", img, 0, 0) for pid, img in rows)
    return store


def test_batch_embeds_what_loads_counts_failures_and_is_incremental(tmp_path, image_server):
    enc = FakeEncoder("image")
    with _image_world(tmp_path / "w.db", image_server) as store:
        media = Path(str(store.path) + ".media")
        calls: list[int] = []
        first = embed_posts(store, enc, media, batch=3, timeout=0.5, progress=calls.append)
        assert first.embedded == 3 and calls == [3, 3, 1]
        assert dict(first.failed) == {"missing": 1, "http": 1, "timeout": 1, "no-image": 1}
        got = store.vectors_since(enc.name)
        assert got.posts.tolist() == [1, 2, 3]
        red = np.array([250, 10, 10] * 16, np.float32) / 255
        assert np.allclose(got.data[0], red / np.linalg.norm(red), atol=1e-3)
        # a second run embeds nothing new and tries the failures again
        again = embed_posts(store, enc, media, timeout=0.5)
        assert again.embedded == 0 and sum(again.failed.values()) == 4
        with store.transaction():
            store.add_posts([(8, 1, 200, "new", "photo", "blue.png", 0, 0)])
        assert embed_posts(store, enc, media, limit=1).embedded == 0  # post 4 comes first
        assert store.count_to_embed(enc.name) == 5
        text = FakeEncoder("text")
        assert embed_posts(store, text, media).embedded == 8  # every post has a caption


def test_vector_cache_extends_incrementally_and_switches_to_hnsw(tmp_path, monkeypatch):
    import discovery.embeddings.similar as sim

    monkeypatch.setattr(sim, "HNSW_FROM", 150)
    pytest.importorskip("hnswlib", reason="hnswlib missing: pip install '.[embed]'")
    gen = np.random.default_rng(3)
    data = gen.standard_normal((200, 8)).astype(np.float32)
    with Store.open(tmp_path / "v.db") as store:
        cache = VectorCache()
        store.add_vectors("fake-text@1", list(range(100)), data[:100])
        held = cache.refresh(store)["fake-text@1"]
        assert len(held) == 100 and type(held.index).__name__ == "ExactIndex"
        seq = cache.seq
        assert cache.refresh(store)["fake-text@1"] is held and cache.seq == seq  # no change
        store.add_vectors("fake-text@1", list(range(100, 200)), data[100:])
        held = cache.refresh(store)["fake-text@1"]
        assert len(held) == 200 and type(held.index).__name__ == "HnswIndex"
        unit = data / np.linalg.norm(data, axis=1, keepdims=True)
        # post 7's nearest by exact cosine over float16 vectors (float16 keeps ~3 digits)
        truth = np.argsort(-(unit @ unit[7]))[1:6]
        keys, _ = held.nearest(7, 5)
        assert len(set(keys.tolist()) & set(truth.tolist())) >= 4


def _with_vectors(db: Path) -> None:
    """Image vectors for the known world: 101 (#hiking, ana) looks exactly like 302 (#cats,
    yan: no shared tag, no shared follower), nearly like 203 (cos 0.8); 104 is orthogonal."""
    with Store.open(db) as store:
        ids = [101, 302, 203, 104]
        vec = np.array([[1, 0, 0], [1, 0, 0], [0.8, 0.6, 0], [0, 0, 1]], np.float32)
        store.add_vectors("fake-image@1", ids, vec)


def test_similar_uses_vectors_when_they_exist_and_falls_back_otherwise(known_db):
    engine = Engine.open(known_db, cache=False)
    before = engine.similar(101, k=5)
    assert 302 not in [i.post_id for i in before]  # nothing links them without vectors
    _with_vectors(known_db)
    after = {i.post_id: i for i in engine.similar(101, k=10)}
    # score = 0.3 · max(0, cos) + 0.7 · today's (tags and authors): 302 and 203 share nothing
    # with 101 but look like it; 301 shares both hashtags (today's 0.7) and has no vector
    assert after[302].score == pytest.approx(0.3) and after[302].factors["image"] == 1.0
    assert after[203].score == pytest.approx(0.3 * 0.8, abs=1e-3)  # float16 vectors
    assert after[301].score == pytest.approx(0.7 * 0.7)
    assert after[302].reason == after[203].reason == "looks like this photo"
    assert after[301].reason == "shares #hiking #love"
    # a post without a vector keeps today's answer exactly
    assert (
        engine.similar(102, k=5).to_json()["items"]
        == Engine.open(known_db, cache=False).similar(102, k=5).to_json()["items"]
    )


def test_similar_route_and_post_page_use_vectors(known_db):
    from fastapi.testclient import TestClient

    from discovery.service import create_app

    _with_vectors(known_db)
    with TestClient(create_app(known_db)) as client:
        doc = client.get("/v1/posts/101/similar?limit=10").json()
        reasons = {i["post_id"]: i["reason"] for i in doc["items"]}
        assert reasons[302] == reasons[203] == "looks like this photo"
        page = client.get("/p/101").text
        assert "looks like this photo" in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # 302's hostile caption, escaped


def run_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "discovery", "--db", str(db), "embed", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_embed_command_summary_and_one_line_errors(known_db):
    out = run_cli(known_db, "--model", "fake-text", "--limit", "5")
    assert out.returncode == 0, out.stderr
    # the known world's 8 hashtag names (all wordy) get their vectors in the same run
    assert re.fullmatch(
        r"fake-text@1: embedded 5 of 5 posts in \d+\.\d s \(\d+\.\d/s\)\n"
        r"fake-text@1: 8 new hashtag names embedded \(8 with a vector of 8\)\n",
        out.stdout,
    )
    out = run_cli(known_db, "--model", "fake-text")
    assert out.stdout.startswith("fake-text@1: embedded 15 of 15 posts")
    assert "0 new hashtag names embedded (8 with a vector of 8)" in out.stdout
    out = run_cli(known_db, "--model", "fake-image")  # the known world's posts have no image
    assert "embedded 0 of 20 posts" in out.stdout and "skipped 20 no-image" in out.stdout
    for bad, message in [
        (["--model", "resnet"], "error: unknown model 'resnet'"),
        (["--batch", "0"], "error: --batch must be at least 1, got 0"),
    ]:
        out = run_cli(known_db, *bad)
        assert out.returncode == 1 and out.stderr.strip().startswith(message), out.stderr
        assert "Traceback" not in out.stderr


def test_embedding_source_finds_a_fresh_post_like_the_ones_liked(known_db):
    """me liked 501-503 (30-40 days ago); 103 is 2 h old, unliked, and looks like them."""
    from discovery.ranking.evidence import Names
    from discovery.ranking.pipeline import gather

    vec = {
        501: [1, 0, 0], 502: [0.96, 0.28, 0], 503: [1, 0, 0],  # liked: taste ≈ (0.99, 0.09)
        103: [0.99, 0.14, 0], 201: [0.6, 0.8, 0], 302: [0, 1, 0], 104: [0, 0, 1],
        401: [1, 0, 0],  # 10 days old: outside the 7-day window
    }  # fmt: skip
    with Store.open(known_db) as store:
        store.add_vectors("fake-image@1", list(vec), np.array(list(vec.values()), np.float32))
    engine = Engine.open(known_db, cache=False)
    vectors = engine.vectors.refresh(engine.store)
    ctx = engine.context("me")
    snap = engine.snapshot
    [found] = gather(ctx, ("embedding",), {"vectors": vectors}, n=2)
    assert sorted(int(snap.post_id[p]) for p in found.posts) == [103, 201]
    why = found.why(int(found.posts[0]), 0)
    assert why.describe("bo", {}, Names.of(snap)) == "looks like photos you liked"
    # without vectors, or for a user who liked nothing, the source proposes nothing
    assert not len(gather(ctx, ("embedding",), {})[0].posts)
    assert not len(gather(engine.context("zed"), ("embedding",), {"vectors": vectors})[0].posts)
