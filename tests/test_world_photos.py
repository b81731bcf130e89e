"""The demo world's photographs: the shipped set, its records, and the food world built on it.

Known answers come from the source collection (a photo's licence, URL and title as the
collection records them), from the food topics' definitions, and from image operations
(a mirrored framing is the original mirrored).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from cli_run import run_cli as _cli
from discovery.errors import InputError
from discovery.store import Store
from discovery.store.model import normalize_hashtag
from discovery.world import generate_world, load_truth, media_dir, plan
from discovery.world.food import FOOD_ME_INTERESTS, FOOD_TOPICS
from discovery.world.images import load_photos
from discovery.world.photo_posts import MIN_SHARED
from discovery.world.themes import THEMES, photos_folder

SHIPPED = photos_folder()
RECORDS = json.loads((SHIPPED / "photos.json").read_text(encoding="utf-8"))
SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "food-photos"
ALT_SOURCE = Path("/work/shared/data/food-photos")
TOOL = Path(__file__).resolve().parents[1] / "tools" / "curate_photos.py"


def test_shipped_photos_are_public_domain_credited_and_small() -> None:
    names = {t.name for t in FOOD_TOPICS}
    per_topic = {n: 0 for n in names}
    total = 0
    for rec in RECORDS:
        assert rec["licence"] == "Public Domain"
        assert re.fullmatch(r"https://www\.pexels\.com/photo/\d+", rec["source"])
        assert rec["attribution"] and rec["source"] in rec["credit"]
        assert "public domain" in rec["credit"]
        per_topic[rec["topic"]] += 1
        file = SHIPPED / "images" / rec["id"]
        with Image.open(file) as im:
            assert im.format == "JPEG" and max(im.size) <= 512
        total += file.stat().st_size
    assert min(per_topic.values()) >= 12  # every topic has photos enough for variety
    assert total <= 8 * 2**20
    assert len({r["id"] for r in RECORDS}) == len(RECORDS)
    ids = [r["id"] for r in RECORDS]
    attribution = (SHIPPED / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert all(f"images/{i}" in attribution for i in ids)
    assert all(r["source"] in attribution for r in RECORDS)
    assert sorted(p.name for p in (SHIPPED / "images").iterdir()) == sorted(ids)


def test_a_known_photo_keeps_its_collection_record() -> None:
    # As the collection records 0000111.jpg: a Pexels photo of maki (an "is" tag: sushi).
    rec = next(r for r in RECORDS if r["id"] == "0000111.jpg")
    assert rec["topic"] == "sushi" and rec["title"] == "California Maki on Black Plate"
    assert rec["source"] == "https://www.pexels.com/photo/359993"
    assert rec["attribution"] == "California Maki on Black Plate provided by PEXELS."


def _collection() -> Path | None:
    return next((p for p in (SOURCE, ALT_SOURCE) if (p / "photos.json").is_file()), None)


@pytest.mark.skipif(_collection() is None, reason="the shared food-photo collection is absent")
def test_the_curation_tool_reproduces_the_shipped_records(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("curate_photos", TOOL)
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    source = _collection()
    assert source is not None
    tool.OUT = tmp_path / "photos"
    tool.main(source)
    again = json.loads((tool.OUT / "photos.json").read_text(encoding="utf-8"))
    assert again == RECORDS
    licences = {
        r["id"]: r["license"] for r in json.loads((source / "photos.json").read_text("utf-8"))
    }
    assert {licences[r["id"]] for r in RECORDS} == {"Public Domain"}  # CC BY left out
    for name in ("0000111.jpg", RECORDS[-1]["id"]):
        shipped = (SHIPPED / "images" / name).read_bytes()
        assert (tool.OUT / "images" / name).read_bytes() == shipped


def test_food_topics_have_the_spellings_people_write() -> None:
    folded = 0
    for topic in FOOD_TOPICS:
        folded += len(topic.tags) - len({normalize_hashtag(t) for t in topic.tags})
        assert any(t != t.lower() for t in topic.tags), topic.name  # CamelCase
        assert any(not t.isascii() for t in topic.tags), topic.name  # an emoji
        assert topic.tags[0] == topic.name or topic.name.startswith(topic.tags[0])
    assert folded >= 1  # IceCream / icecream: two spellings, one tag after normalising
    sushi = FOOD_TOPICS[THEMES["food"].topic_index("sushi")].tags
    assert {"sushi", "sushilover", "SushiTime", "🍣"} <= set(sushi)


@pytest.fixture(scope="module")
def food_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("food") / "food.db"
    generate_world(db, "tiny", users=60, seed=5, theme="food", now=1_717_200_000)
    return db


def _posts(db: Path) -> list[tuple[int, str, str | None, int]]:
    with Store.open(db, create=False) as s:
        return s._fetch(
            "SELECT p.id, p.caption, p.image, t.topic FROM posts p"
            " JOIN truth_posts t ON t.post = p.id ORDER BY p.id"
        )


def test_every_food_post_shows_a_photo_of_its_topic_with_its_credit(food_world: Path) -> None:
    by_file = {r["id"]: r for r in RECORDS}
    vocab = {t.name: {normalize_hashtag(x) for x in t.tags} for t in FOOD_TOPICS}
    shared = Counter(n for r in RECORDS for n in {normalize_hashtag(_spelt(t)) for t in r["tags"]})
    rows = _posts(food_world)
    assert len(rows) > 200
    for _, caption, image, topic in rows:
        assert image is not None
        m = re.fullmatch(r"photos/(\d+)(?:-([1-5]))?\.jpg", image)
        assert m is not None, image
        rec = by_file[m.group(1) + ".jpg"]
        assert rec["topic"] == FOOD_TOPICS[topic].name
        assert caption.startswith(rec["title"]) and caption.endswith(rec["credit"])
        assert (media_dir(food_world) / image).is_file()
        # Hashtags come from the topic, the generic list, or the photo's own tags that name
        # no other topic and that at least MIN_SHARED photos carry.
        mine = {normalize_hashtag(t) for t in FOOD_TOPICS[topic].tags}
        others = set().union(*(vocab[t.name] for t in FOOD_TOPICS)) - mine
        own = {normalize_hashtag(_spelt(t)) for t in rec["tags"]}
        allowed = mine | {normalize_hashtag(t) for t in THEMES["food"].generic_tags}
        allowed |= {n for n in own - others if shared[n] >= MIN_SHARED}
        body = caption[len(rec["title"]) : -len(rec["credit"])]
        assert {normalize_hashtag(t) for t in re.findall(r"#(\S+)", body)} <= allowed


def test_a_topics_posts_go_through_its_photos_in_passes(food_world: Path) -> None:
    by_topic: dict[int, list[str]] = {}
    for _, _, image, topic in _posts(food_world):  # in id order: time order
        assert image is not None
        by_topic.setdefault(topic, []).append(image.split("/")[1][:7])
    n = {t.name: 0 for t in FOOD_TOPICS}
    for rec in RECORDS:
        n[rec["topic"]] += 1
    for topic, seq in by_topic.items():
        k = n[FOOD_TOPICS[topic].name]
        for lo in range(0, len(seq) - k + 1, k):
            assert len(set(seq[lo : lo + k])) == k  # a pass: every photo once
        assert all(max(Counter(seq[i : i + k]).values()) <= 2 for i in range(len(seq)))


def test_food_world_hashtags_need_normalising(food_world: Path) -> None:
    sushi = THEMES["food"].topic_index("sushi")
    raw = set()
    for _, caption, _, topic in _posts(food_world):
        if topic == sushi:
            raw |= set(re.findall(r"#(\S+)", caption))
    assert {"sushi", "🍣"} <= raw
    assert any(t != t.lower() for t in raw)  # CamelCase spellings to fold


def test_mirrored_and_cropped_framings(food_world: Path) -> None:
    folder = media_dir(food_world) / "photos"
    checked = set()
    for file in sorted(folder.iterdir()):
        stem, _, v = file.stem.partition("-")
        original = Image.open(SHIPPED / "images" / f"{stem}.jpg").convert("RGB")
        if not v:  # as taken: the shipped file itself
            assert file.read_bytes() == (SHIPPED / "images" / file.name).read_bytes()
            continue
        w, h = original.size
        expect = {
            "1": ImageOps.mirror(original),
            "2": original.crop((w // 10, h // 10, w - w // 10, h - h // 10)),
            "5": ImageOps.mirror(original.crop((0, 0, w * 3 // 4, h * 3 // 4))),
        }.get(v)
        if expect is not None and v not in checked:
            got = np.asarray(Image.open(file).convert("RGB"), dtype=float)
            assert got.shape == np.asarray(expect).shape
            assert np.abs(got - np.asarray(expect, dtype=float)).mean() < 4  # JPEG noise
            checked.add(v)
    assert checked == {"1", "2", "5"}


def test_food_world_truth_and_meta(food_world: Path) -> None:
    with Store.open(food_world, create=False) as s:
        truth = load_truth(s)
        meta = json.loads(s.get_meta("world") or "{}")
        generator = s.get_meta("generator") or ""
        handles = {h for (h,) in s._fetch("SELECT handle FROM accounts WHERE id <= 13")}
    assert truth.theta.shape[1] == len(FOOD_TOPICS)
    top = {FOOD_TOPICS[i].name for i in np.argsort(truth.theta[0])[-len(FOOD_ME_INTERESTS) :]}
    assert top == set(FOOD_ME_INTERESTS)
    assert meta["theme"] == "food" and meta["generator"] == "food-1"
    assert generator.endswith("(food-1)")
    assert [t["name"] for t in meta["topics"]] == [t.name for t in FOOD_TOPICS]
    assert handles == {"me"} | {b[0] for b in THEMES["food"].brands}


def test_same_seed_same_food_world_and_no_images_same_captions(
    food_world: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again.db"
    generate_world(again, "tiny", users=60, seed=5, theme="food", now=1_717_200_000)
    assert _posts(again) == _posts(food_world)
    for name in sorted(p.name for p in (media_dir(food_world) / "photos").iterdir())[:20]:
        a = (media_dir(again) / "photos" / name).read_bytes()
        assert a == (media_dir(food_world) / "photos" / name).read_bytes()
    off = tmp_path / "off.db"
    generate_world(off, "tiny", users=60, seed=5, theme="food", now=1_717_200_000, images=False)
    rows = _posts(off)
    assert [r[1] for r in rows] == [r[1] for r in _posts(food_world)]
    assert {r[2] for r in rows} == {None} and not media_dir(off).exists()


def test_the_demo_size_is_the_food_world_and_the_others_draw() -> None:
    assert plan("demo").theme == "food" and plan("demo", users=50_000).theme == "food"
    assert plan("tiny").theme == "drawn" and plan("large").theme == "drawn"
    with pytest.raises(InputError, match="theme: unknown theme 'cats'"):
        plan("tiny", theme="cats")


def test_a_record_topic_decides_and_unknown_topics_fall_back_to_tags(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "images" / "a.jpg")
    Image.new("RGB", (8, 8)).save(tmp_path / "images" / "b.jpg")
    Image.new("RGB", (8, 8)).save(tmp_path / "images" / "c.jpg")
    by = "<a href='https://flic.kr/p/1'>&quot;Ribs&quot; by Dee</a> is licenced under CC BY 2.0"
    records = [
        {"id": "a.jpg", "title": "A", "tags": ["pizza"], "topic": "cake"},
        {"id": "b.jpg", "title": "B", "tags": ["ice cream", "gelato"], "topic": "no-such"},
        {"id": "c.jpg", "tags": ["bbq"], "attribution_html": by, "license": "CC BY 2.0"},
    ]
    (tmp_path / "photos.json").write_text(json.dumps(records), encoding="utf-8")
    photos = load_photos(tmp_path, FOOD_TOPICS)
    names = [FOOD_TOPICS[p.topic].name for p in photos]
    assert names == ["cake", "icecream", "bbq"]
    assert photos[1].tags == ("icecream", "gelato") and photos[0].credit == ""
    # The credit is the attribution as text, the licence named once.
    assert photos[2].credit == '📷 "Ribs" by Dee is licenced under CC BY 2.0'
    (tmp_path / "photos.json").write_text(
        json.dumps([{"id": "c.jpg", "tags": ["bbq"], "license": "CC0", "attribution_html": "X."}]),
        encoding="utf-8",
    )
    assert load_photos(tmp_path, FOOD_TOPICS)[0].credit == "📷 X, CC0"


def test_posts_and_media_through_the_api(food_world: Path) -> None:
    from fastapi.testclient import TestClient

    from discovery.service.app import create_app

    pid, caption, image, _ = _posts(food_world)[0]
    with TestClient(create_app(food_world)) as client:
        post = client.get(f"/v1/posts/{pid}").json()
        assert post["caption"] == caption and "📷 Pexels, public domain: https://" in caption
        got = client.get(f"/media/{image}")
        assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
        assert got.content == (media_dir(food_world) / image).read_bytes()


def _spelt(tag: str) -> str:
    # As load_photos writes a photo's tag as a hashtag: spaces and hyphens removed.
    return tag.replace(" ", "").replace("-", "")


def test_generate_theme_from_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    code, _, err = _cli(capsys, "--db", db, "generate", "--theme", "cats", "--users", "30")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and lines == [
        "error: --theme: unknown theme 'cats'; expected one of drawn, food"
    ]
    base = ("--db", db, "generate", "--users", "30", "--no-images", "--now", "2024-06-01")
    assert _cli(capsys, *base, "--theme", "drawn")[0] == 0
    code, out, _ = _cli(capsys, "--db", db, "info", "--json")
    assert code == 0 and json.loads(out)["world"]["generator"] == "world-1"
    assert _cli(capsys, *base, "--force")[0] == 0  # the demo size: food by default
    with Store.open(db, create=False) as s:
        meta = json.loads(s.get_meta("world") or "{}")
    assert (meta["size"], meta["theme"], meta["generator"]) == ("demo", "food", "food-1")


def test_captions_for_posts_drawn_after_generation() -> None:
    # What a reader that continues a world (the simulator) gets for new posts of each theme.
    from discovery.world.photo_posts import captions_for
    from discovery.world.posts import Posts, captions
    from discovery.world.themes import theme_of_world

    topic = np.array([0, 5, 9, 16, 0], dtype=np.int16)
    m = len(topic)
    posts = Posts(
        author=np.zeros(m, dtype=np.int32),
        taken_at=np.arange(m, dtype=np.int64),
        topic=topic,
        quality=np.full(m, 0.5),
        clickbait=np.zeros(m, dtype=bool),
        media_type=np.zeros(m, dtype=np.int8),
        n_tags=np.full(m, 4, dtype=np.int8),
    )
    theta = np.full((1, len(FOOD_TOPICS)), 1 / len(FOOD_TOPICS))
    food = theme_of_world({"theme": "food", "params": {}})
    titles = {}
    for rec in RECORDS:
        titles.setdefault(rec["topic"], set()).add((rec["title"], rec["credit"]))
    for t, caption in zip(topic.tolist(), captions_for(food, posts, theta, 0, m, 3), strict=True):
        assert any(
            caption.startswith(title) and caption.endswith(credit)
            for title, credit in titles[FOOD_TOPICS[t].name]
        ), caption
    drawn = theme_of_world({"params": {"size": "tiny"}})  # a world from before themes
    theta24 = np.full((1, len(drawn.topics)), 1 / len(drawn.topics))
    assert captions_for(drawn, posts, theta24, 0, m, 3) == captions(posts, theta24, 0, m, 3)


def test_the_simulator_continues_a_food_world(food_world: Path, tmp_path: Path) -> None:
    from discovery.simulation import SimConfig, run, scratch_copy

    with Store.open(food_world, create=False) as src:
        store = scratch_copy(src, tmp_path)
    try:
        before = store.count("posts")
        run(store, SimConfig(days=1, arms=("timeline",), users=20, samples=10))
        credits = {r["credit"] for r in RECORDS}
        rows = store._fetch(f"SELECT caption FROM posts WHERE id > {before}")
    finally:
        store.close()
    assert rows  # new posts arrived, each captioned as the food world captions
    assert all(any(c.endswith(credit) for credit in credits) for (c,) in rows)
