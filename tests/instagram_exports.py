"""Instagram exports built by the tests, in both shapes seen in the wild (no real data).

``old`` is the 2022–2024 layout (``followers_and_following/``, ``content/posts_1.json``,
``account_information/``, usernames in ``string_list_data[].value``, liked posts as
``likes_media_likes`` without captions); ``new`` the 2025 one (``connections/…``,
``your_instagram_activity/media/posts_1.json``, doubly nested ``personal_information``,
usernames in ``title`` with ``/_u/`` hrefs, liked posts as ``label_values`` with Owner and
Caption). Text is written the way Instagram writes it: UTF-8 mis-decoded as Latin-1.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

T0 = 1_735_689_600  # 2025-01-01T00:00:00Z
IG = "https://www.instagram.com"
JPEG = b"\xff\xd8\xff\xe0" + b"ride" * 64 + b"\xff\xd9"
ROOT = "instagram-ana_photos-2025-01-10-AbCdEf"


def moji(text: str) -> str:
    """What the exporter writes: the UTF-8 bytes of ``text`` read as Latin-1."""
    return text.encode("utf-8").decode("latin-1")


@dataclass
class Export:
    """The content of one export; :meth:`tree` lays it out in either shape."""

    username: str | None = "ana_photos"
    display_name: str = "Ana Émile"
    following: list[tuple[str, int]] = field(
        default_factory=lambda: [("bob", T0 + 100), ("cleo", T0 + 200)]
    )
    followers: list[tuple[str, int]] = field(
        default_factory=lambda: [("bob", T0 + 150), ("eve", T0 + 400)]
    )
    unfollowed: list[tuple[str, int]] = field(default_factory=lambda: [("zed", T0 + 90)])
    hashtags: list[tuple[str, int]] = field(
        default_factory=lambda: [("analogphotography", T0 + 50)]
    )
    blocked: list[tuple[str, int]] = field(default_factory=lambda: [("spam_bot", T0 + 60)])
    # (shortcode path, owner, owner's name, time, caption)
    liked: list[tuple[str, str, str, int, str]] = field(
        default_factory=lambda: [
            ("p/AAA111", "cleo", "Cléo", T0 + 1000, "Golden hour #sunset #pdx"),
            ("reel/BBB222", "frank", "Frank", T0 + 2000, "#mtb trail day"),
            ("p/CCC333", "cleo", "Cléo", T0 + 3000, "Café ☕ #coffee"),
        ]
    )
    saved: list[tuple[str, str, int]] = field(
        default_factory=lambda: [
            ("reel/BBB222", "frank", T0 + 2500),
            ("p/DDD444", "gina", T0 + 2600),
        ]
    )
    liked_comments: list[tuple[str, str, int]] = field(
        default_factory=lambda: [("hank", "p/AAA111", T0 + 1100)]
    )
    comments: list[tuple[str, str, int]] = field(
        default_factory=lambda: [("cleo", "Wow 😍", T0 + 1200)]
    )
    posts: list[tuple[str, int, str]] = field(
        default_factory=lambda: [
            ("media/posts/202501/ride.jpg", T0 + 5000, "Morning ride #mtb #pdx")
        ]
    )
    extra: dict[str, Any] = field(default_factory=dict)  # more files, by path

    def tree(self, shape: str) -> dict[str, Any]:
        """``path → JSON value`` (bytes for media files) of this export in ``shape``."""
        old = shape == "old"
        conn = "followers_and_following/" if old else "connections/followers_and_following/"
        act = "" if old else "your_instagram_activity/"

        def rel(name: str, t: int) -> dict[str, Any]:
            if old:
                data = {"href": f"{IG}/{name}", "value": name, "timestamp": t}
                return {"title": "", "media_list_data": [], "string_list_data": [data]}
            return {
                "title": name,
                "string_list_data": [{"href": f"{IG}/_u/{name}", "timestamp": t}],
            }

        def tag(name: str, t: int) -> dict[str, Any]:
            href = f"{IG}/explore/tags/{name}"
            if old:
                return {
                    "title": "",
                    "string_list_data": [{"href": href, "value": name, "timestamp": t}],
                }
            return {"title": name, "string_list_data": [{"href": href, "timestamp": t}]}

        def like(code: str, owner: str, name: str, t: int, caption: str) -> dict[str, Any]:
            url = f"{IG}/{code}/"
            if old:
                data = {"href": url, "value": moji("👍"), "timestamp": t}
                return {"title": owner, "string_list_data": [data]}
            who = [
                {"label": "URL", "value": ""},
                {"label": "Name", "value": moji(name)},
                {"label": "Username", "value": owner},
            ]
            return {
                "timestamp": t,
                "media": [],
                "label_values": [
                    {"label": "URL", "value": url, "href": url},
                    {"title": "Owner", "dict": [{"title": "", "dict": who}]},
                    {"label": "Caption", "value": moji(caption)},
                ],
            }

        files: dict[str, Any] = {
            f"{conn}following.json": {"relationships_following": [rel(*r) for r in self.following]},
            f"{conn}followers_1.json": [rel(*r) for r in self.followers],
            f"{conn}following_hashtags.json": {
                "relationships_following_hashtags": [tag(*h) for h in self.hashtags]
            },
            f"{conn}blocked_{'accounts' if old else 'profiles'}.json": {
                "relationships_blocked_users": [
                    {"title": n, "string_list_data": [{"href": f"{IG}/{n}", "timestamp": t}]}
                    for n, t in self.blocked
                ]
            },
            f"{conn}recently_unfollowed_{'accounts' if old else 'profiles'}.json": {
                "relationships_unfollowed_users": [rel(*r) for r in self.unfollowed]
            },
            f"{act}likes/liked_posts.json": (
                {"likes_media_likes": [like(*x) for x in self.liked]}
                if old
                else [like(*x) for x in self.liked]
            ),
            f"{act}likes/liked_comments.json": {
                "likes_comment_likes": [
                    {
                        "title": a,
                        "string_list_data": [
                            {"href": f"{IG}/{code}/", "value": moji("👍"), "timestamp": t}
                        ],
                    }
                    for a, code, t in self.liked_comments
                ]
            },
            f"{act}saved/saved_posts.json": {
                "saved_saved_media": [
                    {
                        "title": o,
                        "string_map_data": {
                            "Saved on": {"href": f"{IG}/{code}/", "value": "", "timestamp": t}
                        },
                    }
                    for code, o, t in self.saved
                ]
            },
            f"{act}comments/post_comments{'' if old else '_1'}.json": [
                {
                    "media_list_data": [{"uri": ""}],
                    "string_map_data": {
                        "Comment": {"value": moji(text)},
                        "Media Owner": {"value": owner},
                        "Time": {"timestamp": t},
                    },
                }
                for owner, text, t in self.comments
            ],
            f"{'content/' if old else act + 'media/'}posts_1.json": [
                {
                    "media": [{"uri": uri, "creation_timestamp": t, "title": ""}],
                    "title": moji(caption),
                    "creation_timestamp": t,
                }
                if old
                else {"media": [{"uri": uri, "creation_timestamp": t, "title": moji(caption)}]}
                for uri, t, caption in self.posts
            ],
        }
        for uri, _, _ in self.posts:
            files[uri] = JPEG
        if self.username:
            info = {"Username": {"href": "", "value": self.username, "timestamp": 0},
                    "Name": {"href": "", "value": moji(self.display_name), "timestamp": 0}}  # fmt: skip
            where = (
                "account_information/personal_information.json"
                if old
                else "personal_information/personal_information/personal_information.json"
            )
            files[where] = {
                "profile_user": [{"title": "User information", "string_map_data": info}]
            }
        files.update(self.extra)
        return files


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value, indent=2).encode("ascii")


def write_folder(root: Path, tree: dict[str, Any]) -> Path:
    for name, value in tree.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_bytes(value))
    return root


def write_zip(path: Path, tree: dict[str, Any], root: str = ROOT, junk: bool = True) -> Path:
    """A .zip as macOS's Archive Utility makes it: one root folder, plus ``__MACOSX/`` and
    ``._*`` AppleDouble files (binary, not JSON) beside every file."""
    with zipfile.ZipFile(path, "w") as z:
        for name, value in tree.items():
            z.writestr(f"{root}/{name}" if root else name, _bytes(value))
            if junk:
                folder, _, base = f"{root}/{name}".rpartition("/")
                z.writestr(f"__MACOSX/{folder}/._{base}", b"\x00\x05\x16\x07junk")
                z.writestr(f"{folder}/._{base}", b"\x00\x05\x16\x07junk")
    return path
