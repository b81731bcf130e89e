"""Rebuild the demo world's photographs from the shared food-photo collection (reproducible).

    .venv/bin/python tools/curate_photos.py [/work/shared/data/food-photos]

Reads ``photos.json`` and ``images/`` of the collection, keeps only **Public Domain** photos,
gives each the food topic (:data:`discovery.world.food.FOOD_TOPICS`) that its title or
"is" tags name (``RULES``, dishes before ingredients, first rule that matches wins; a photo
whose broad tags alone name a topic counts only when a topic is short of photos), takes the
first ``PER_TOPIC`` of each topic in the collection's order (at least ``MIN_PER_TOPIC``), resizes them (long side ``LONG``
px, JPEG quality ``QUALITY``, Pillow) and writes the package data the generator ships:

* ``src/discovery/world/photos/images/<id>``: the resized photos;
* ``src/discovery/world/photos/photos.json``: one record per photo (topic, title, tags,
  licence, source URL, attribution);
* ``src/discovery/world/photos/ATTRIBUTION.md``: every photo's credit, as a table.

The output is deterministic: the same collection gives byte-identical files.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sys
from pathlib import Path

from PIL import Image

from discovery.world.food import FOOD_TOPICS

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "discovery" / "world" / "photos"
SOURCE = Path("/work/shared/data/food-photos")
PER_TOPIC = 15
MIN_PER_TOPIC = 12
LONG = 512
QUALITY = 80

#: topic → words that name it in a photo's title or "is" tags (whole words, lower case).
RULES: dict[str, tuple[str, ...]] = {
    "sushi": ("sushi", "maki", "nigiri", "sashimi"),
    "pizza": ("pizza",),
    "burgers": ("burger", "burgers", "hamburger", "cheeseburger"),
    "pasta": ("pasta", "spaghetti", "penne", "lasagna", "macaroni", "ravioli"),
    "bbq": ("bbq", "barbecue", "grill", "grilled", "steak", "sausage", "sausages", "skewers"),
    "seafood": ("seafood", "salmon", "shrimp", "fish", "oysters", "prawns"),
    "salad": ("salad", "salads"),
    "pancakes": ("pancakes", "pancake", "waffles", "waffle", "crepes", "crepe"),
    "brunch": ("egg", "eggs", "omelette", "brunch"),
    "cake": ("cake", "cakes", "cupcake", "cupcakes", "cheesecake"),
    "cookies": ("cookies", "cookie", "biscuits"),
    "donuts": ("donut", "donuts", "doughnut", "doughnuts"),
    "icecream": ("ice cream", "icecream", "gelato"),
    "coffee": ("coffee", "espresso", "latte", "cappuccino"),
    "bread": ("bread", "croissant", "croissants", "bagel", "baguette", "loaf"),
    "berries": ("berries", "strawberries", "blueberries", "raspberries", "strawberry", "cherries"),
    "fruit": ("fruit", "fruits", "watermelon", "kiwi", "citrus", "orange", "banana", "apple"),
}

#: Photos left out after looking at the contact sheets (id: why).
EXCLUDE: dict[str, str] = {
    "0000043.jpg": "doughnuts, named 'cake doughnuts'",
    "0000058.jpg": "a bowl of soup",
    "0000090.jpg": "cheese and crackers",
    "0000036.jpg": "a sandwich and fries",
    "0000165.jpg": "vegetables",
    "0000180.jpg": "salmon canapes",
    "0000248.jpg": "a salad",
    "0000304.jpg": "bread with a topping",
    "0000311.jpg": "a salad plate",
    "0000316.jpg": "too dark to read",
    "0000351.jpg": "a bowl of berries",
    "0000393.jpg": "cured meat",
    "0000411.jpg": "a burger and fries",
    "0000445.jpg": "a sandwich",
    "0000478.jpg": "peppers",
    "0000520.jpg": "a sandwich",
    "0000632.jpg": "ice cream",
    "0000654.jpg": "people at a market",
    "0000762.jpg": "a box of chocolates",
    "0000823.jpg": "sausages",
    "0000921.jpg": "a burger",
}


def _topic(text: str) -> str | None:
    for name, words in RULES.items():
        if any(re.search(rf"\b{re.escape(w)}\b", text) for w in words):
            return name
    return None


def select(records: list[dict]) -> dict[str, list[dict]]:
    """Public Domain records per topic: title/"is"-tag matches first, then broad-tag matches."""
    strong: dict[str, list[dict]] = {t.name: [] for t in FOOD_TOPICS}
    weak: dict[str, list[dict]] = {t.name: [] for t in FOOD_TOPICS}
    for rec in records:
        if rec.get("license") != "Public Domain" or rec["id"] in EXCLUDE:
            continue
        core = " | ".join([rec.get("title", ""), *rec.get("isTags", [])]).lower()
        topic = _topic(core)
        if topic is not None:
            strong[topic].append(rec)
        elif (topic := _topic(" | ".join(rec.get("tags", [])).lower())) is not None:
            weak[topic].append(rec)
    return {name: (strong[name] + weak[name])[:PER_TOPIC] for name in strong}


#: Tags about the photograph rather than the food: left out of the records.
STOP = frozenset(
    [
        "blur",
        "blurred",
        "bokeh",
        "close-up",
        "close -up",
        "closeup",
        "color",
        "colors",
        "colorful",
        "colourful",
        "focus",
        "macro",
        "still life",
        "top view",
        "high angle shot",
        "from above",
        "texture",
        "indoors",
        "bright",
        "dark",
        "round",
        "white",
        "red",
        "green",
        "brown",
        "black",
        "pile",
        "container",
        "flat lay",
        "selective focus",
        "shallow focus",
    ]
)


def _tags(rec: dict) -> list[str]:
    # What the photo shows first ("is" tags), then its descriptive tags; lower case, unique.
    raw = [*rec.get("isTags", []), *rec.get("tags", [])]
    clean = (t.strip().lower() for t in raw)
    return list(dict.fromkeys(t for t in clean if t and t not in STOP))


def _credit(rec: dict) -> str:
    # attribution_html is "<a href=…>Title</a> provided by <a href=…>PEXELS</a>." — as text.
    return html.unescape(re.sub(r"<[^>]+>", "", rec.get("attribution_html", ""))).strip()


def _provider(rec: dict) -> str:
    return "Pexels" if "pexels.com" in rec["originUrl"] else rec["originUrl"].split("/")[2]


def main(source: Path = SOURCE) -> None:
    records = json.loads((source / "photos.json").read_text(encoding="utf-8"))
    chosen = select(records)
    short = {t: len(v) for t, v in chosen.items() if len(v) < MIN_PER_TOPIC}
    if short:
        raise SystemExit(f"topics short of photos: {short}")
    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "images").mkdir(parents=True)
    out, total = [], 0
    for topic in (t.name for t in FOOD_TOPICS):
        for rec in chosen[topic]:
            with Image.open(source / "images" / rec["id"]) as src:
                im = src.convert("RGB")
            im.thumbnail((LONG, LONG), Image.Resampling.LANCZOS)
            target = OUT / "images" / rec["id"]
            im.save(target, "JPEG", quality=QUALITY, optimize=True)
            total += target.stat().st_size
            out.append(
                {
                    "id": rec["id"],
                    "topic": topic,
                    "title": rec.get("title", "").strip(),
                    "tags": _tags(rec),
                    "licence": rec["license"],
                    "licence_url": rec.get("licenseUrl", ""),
                    "source": rec["originUrl"],
                    "attribution": _credit(rec),
                    "credit": f"📷 {_provider(rec)}, public domain: {rec['originUrl']}",
                    "attribution_html": rec.get("attribution_html", ""),
                }
            )
    text = json.dumps(out, ensure_ascii=False, indent=1) + "\n"
    (OUT / "photos.json").write_text(text, encoding="utf-8")
    (OUT / "ATTRIBUTION.md").write_text(_attribution(out), encoding="utf-8")
    print(f"{len(out)} photos, {len(chosen)} topics, {total / 2**20:.1f} MiB of images -> {OUT}")


def _attribution(out: list[dict]) -> str:
    lines = [
        "# The demo world's photographs",
        "",
        f"{len(out)} photographs from Pexels, each marked **Public Domain** in the food-photo",
        "collection they were taken from (licence URL https://creativecommons.org/publicdomain/);",
        "photos under other licences (CC BY 2.0) were left out. Resized to 512 px by",
        "`tools/curate_photos.py`. We credit every photo: below, in `photos.json`, and in the",
        "caption of every generated post that shows it (`📷 Pexels, public domain: <source>`).",
        "",
        "| file | topic | photo | licence | source |",
        "|---|---|---|---|---|",
    ]
    for r in out:
        title = r["attribution"].replace("|", "/")
        lines.append(
            f"| images/{r['id']} | {r['topic']} | {title} | {r['licence']} | {r['source']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)
