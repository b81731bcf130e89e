"""Importing a large Instagram export: a synthetic one with 50,000 liked posts.

Generates (seeded) an export in the 2025 shape as a .zip — ``--likes`` liked posts by
``--likes / 10`` owners with captions and hashtags, 2,000 follows, 1,500 followers, 3,000
saved posts, 5,000 liked comments, 200 own posts with a small JPEG each, 50 followed hashtags
and 20 blocked accounts — then times ``import_instagram`` into a fresh SQLite database
(parse and write together, as the CLI runs it), a re-import of the same file (nothing to
write), and reports entries/s.

Run: ``python bench/instagram.py [--likes 50000] [--seed 7]``
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from discovery.sources.instagram import import_instagram
from discovery.store import Store

T0 = 1_735_689_600
IG = "https://www.instagram.com"
TAGS = [f"tag{i}" for i in range(300)]


def _rel(name: str, t: int) -> dict[str, Any]:
    return {"title": name, "string_list_data": [{"href": f"{IG}/_u/{name}", "timestamp": t}]}


def _liked(code: str, owner: str, t: int, caption: str) -> dict[str, Any]:
    who = [{"label": "Name", "value": owner.title()}, {"label": "Username", "value": owner}]
    return {
        "timestamp": t,
        "label_values": [
            {"label": "URL", "value": f"{IG}/p/{code}/", "href": f"{IG}/p/{code}/"},
            {"title": "Owner", "dict": [{"title": "", "dict": who}]},
            {"label": "Caption", "value": caption},
        ],
    }


def make_export(path: Path, likes: int, seed: int) -> int:
    """Write the synthetic export; the number of entries it holds."""
    rng = random.Random(seed)
    owners = [f"user_{i}" for i in range(max(likes // 10, 1))]

    def caption() -> str:
        return "photo " + " ".join(f"#{t}" for t in rng.sample(TAGS, 3))

    files: dict[str, Any] = {
        "personal_information/personal_information/personal_information.json": {
            "profile_user": [{"string_map_data": {"Username": {"value": "bench_me"}}}]
        },
        "connections/followers_and_following/following.json": {
            "relationships_following": [_rel(o, T0 + i) for i, o in enumerate(owners[:2000])]
        },
        "connections/followers_and_following/followers_1.json": [
            _rel(o, T0 + i) for i, o in enumerate(owners[1000:2500])
        ],
        "connections/followers_and_following/following_hashtags.json": {
            "relationships_following_hashtags": [_rel(t, T0) for t in TAGS[:50]]
        },
        "connections/followers_and_following/blocked_profiles.json": {
            "relationships_blocked_users": [_rel(f"spam_{i}", T0) for i in range(20)]
        },
        "your_instagram_activity/likes/liked_posts.json": [
            _liked(f"L{i:09d}", rng.choice(owners), T0 + 10 * i, caption()) for i in range(likes)
        ],
        "your_instagram_activity/saved/saved_posts.json": {
            "saved_saved_media": [
                {
                    "title": rng.choice(owners),
                    "string_map_data": {
                        "Saved on": {"href": f"{IG}/p/S{i:09d}/", "timestamp": T0 + 7 * i}
                    },
                }
                for i in range(3000)
            ]
        },
        "your_instagram_activity/likes/liked_comments.json": {
            "likes_comment_likes": [
                {
                    "title": rng.choice(owners),
                    "string_list_data": [
                        {"href": f"{IG}/p/L{rng.randrange(likes):09d}/", "timestamp": T0 + 3 * i}
                    ],
                }
                for i in range(5000)
            ]
        },
        "your_instagram_activity/media/posts_1.json": [
            {
                "media": [
                    {
                        "uri": f"media/posts/2025/{i}.jpg",
                        "creation_timestamp": T0 + i,
                        "title": caption(),
                    }
                ]
            }
            for i in range(200)
        ],
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, value in files.items():
            z.writestr(f"instagram-bench_me-2025-02-01-x/{name}", json.dumps(value))
        for i in range(200):
            z.writestr(
                f"instagram-bench_me-2025-02-01-x/media/posts/2025/{i}.jpg", bytes([i]) * 2048
            )
    return likes + 2000 + 1500 + 50 + 20 + 3000 + 5000 + 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--likes", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "instagram-bench_me-2025-02-01-x.zip"
        t = time.perf_counter()
        entries = make_export(export, args.likes, args.seed)
        print(f"export: {entries:,} entries, {export.stat().st_size / 1e6:.1f} MB zipped,"
              f" generated in {time.perf_counter() - t:.1f} s")  # fmt: skip
        with Store.open(Path(tmp) / "ig.db") as store:
            for run in ("first import", "re-import"):
                t = time.perf_counter()
                summary = import_instagram(store, export)
                took = time.perf_counter() - t
                new = sum(n for _, _, n in summary.rows)
                print(f"{run}: {took:.2f} s, {entries / took:,.0f} entries/s, {new:,} rows new,"
                      f" change counter {store.change_counter}")  # fmt: skip
            print({t: store.count(t) for t in ("accounts", "follows", "posts", "interactions")})


if __name__ == "__main__":
    main()
