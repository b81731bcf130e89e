"""Reading an Instagram "Download your information" export: a .zip or its unpacked folder.

The export's layout moved in 2022, 2024 and 2025 (``content/posts_1.json`` →
``your_instagram_activity/content/…`` → ``your_instagram_activity/media/…``;
``followers.json`` → ``followers_1.json``; ``account_information`` → a doubly nested
``personal_information``), so files are routed by **name pattern** (:data:`ROUTES`), never by
path. macOS junk (``__MACOSX/``, ``._*``) is ignored. Text in the JSON files is UTF-8 that
Instagram's exporter wrote as if it were Latin-1 ("mojibake": ``Ã©`` for ``é``);
:func:`fix_mojibake` undoes it. Each file wraps its entries either as a bare array or as an
object with one key (``{"relationships_following": [...]}``); :func:`unwrap` accepts both.

Entries share one envelope (``title``, ``string_list_data``, ``string_map_data``, and since
2025 ``label_values``); :func:`flatten` reads any of them into :class:`Fields`.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from ..errors import InputError

__all__ = [
    "MAX_JSON_BYTES",
    "ROUTES",
    "ExportFiles",
    "Fields",
    "fix_mojibake",
    "flatten",
    "repair_json_text",
    "route",
    "unwrap",
]

#: File kind → pattern of the file's base name (sharded files carry ``_N``).
ROUTES: dict[str, re.Pattern[str]] = {
    "following": re.compile(r"following(_\d+)?\.json"),
    "followers": re.compile(r"followers(_\d+)?\.json"),
    "hashtags": re.compile(r"following_hashtags(_\d+)?\.json"),
    "liked_posts": re.compile(r"liked_posts(_\d+)?\.json"),
    "liked_comments": re.compile(r"liked_comments(_\d+)?\.json"),
    "saved_posts": re.compile(r"saved_posts(_\d+)?\.json"),
    "comments": re.compile(r"(post|reels)_comments(_\d+)?\.json"),
    "posts": re.compile(r"posts(_\d+)?\.json"),
    "blocked": re.compile(r"blocked_(profiles|accounts)\.json"),
    "unfollowed": re.compile(r"recently_unfollowed_(profiles|accounts)\.json"),
    "profile": re.compile(r"(personal_information|account_information)\.json"),
}
#: Largest JSON file read (uncompressed): 50k liked posts take ~25 MB.
MAX_JSON_BYTES = 1 << 30
_ARCHIVE_NAME = re.compile(r"instagram-(.+?)-\d{4}-\d{2}-\d{2}-")


def route(name: str) -> str | None:
    """The kind of an export file from its path, by base name; None for files not read.

    >>> route("connections/followers_and_following/followers_3.json")
    'followers'
    >>> route("your_instagram_activity/content/posts_1.json"), route("ads/posts_viewed.json")
    ('posts', None)
    """
    base = PurePosixPath(name).name
    return next((kind for kind, rx in ROUTES.items() if rx.fullmatch(base)), None)


def _junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return "__MACOSX" in parts or any(p.startswith("._") for p in parts)


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 read as Latin-1 (the export's known bug); other text is returned unchanged.

    >>> fix_mojibake("CafÃ© ð\\x9f\\x93\\xb7"), fix_mojibake("Café"), fix_mojibake("日本")
    ('Café 📷', 'Café', '日本')
    """
    if text.isascii() or max(text) > "\xff":
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return text  # already proper text (a lone "é" is not valid UTF-8 bytes)


# Runs of escaped (\u0080-\u00ff, how the exporter writes) or raw Latin-1-range characters:
# each run is repaired on the JSON text, before parsing, so no parsed value is walked again.
_ESCAPED_RUN = re.compile(r"(?:\\u00[89a-fA-F][0-9a-fA-F])+")
_RAW_RUN = re.compile("[\x80-\xff]+")


def _unescape(match: re.Match[str]) -> str:
    run = match.group(0)
    raw = bytes(int(run[i + 4 : i + 6], 16) for i in range(0, len(run), 6))
    try:
        return json.dumps(raw.decode("utf-8"))[1:-1]
    except UnicodeDecodeError:
        return run


def repair_json_text(text: str) -> str:
    """The export's JSON text with its mojibake runs repaired (see :func:`fix_mojibake`),
    whether the exporter escaped them (``\\u00c3\\u00a9``, as Instagram does) or not.

    >>> mojibake = "Café 📷".encode("utf-8").decode("latin-1")
    >>> json.loads(repair_json_text(json.dumps(mojibake)))
    'Café 📷'
    >>> json.loads(repair_json_text(json.dumps(mojibake, ensure_ascii=False)))
    'Café 📷'
    """
    text = _ESCAPED_RUN.sub(_unescape, text)
    if not text.isascii():
        text = _RAW_RUN.sub(lambda m: fix_mojibake(m.group(0)), text)
    return text


_ENTRY_KEYS = ("string_list_data", "string_map_data", "label_values", "media", "uri")


def unwrap(data: Any) -> list[Any]:
    """The entries of a file: a bare array, or the array under an object's single key.

    >>> unwrap([1, 2]), unwrap({"relationships_following": [3]}), unwrap({"title": "x",
    ...     "string_list_data": []})
    ([1, 2], [3], [{'title': 'x', 'string_list_data': []}])
    """
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        if any(k in data for k in _ENTRY_KEYS):
            return [data]  # one entry, unwrapped by the exporter
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(data) == 1 and lists:
            return lists[0]
    raise ValueError("neither an array of entries nor an object holding one")


@dataclass
class Fields:
    """What one entry says, whatever its envelope: ``labels`` maps a label (nested ones
    joined by dots: ``Owner.Username``) to its value; ``hrefs`` and ``times`` are in order."""

    title: str = ""
    hrefs: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    times: list[Any] = field(default_factory=list)


def _labels(items: Any, prefix: str, out: Fields, top: bool) -> None:
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("dict"), list):
            title = item.get("title") if isinstance(item.get("title"), str) else ""
            _labels(item["dict"], f"{prefix}{title}." if title else prefix, out, False)
            continue
        label = item.get("label")
        if isinstance(label, str):
            value = item.get("value")
            out.labels.setdefault(prefix + label, value if isinstance(value, str) else "")
        if top and isinstance(item.get("href"), str) and item["href"]:
            out.hrefs.append(item["href"])
        if "timestamp" in item:
            out.times.append(item["timestamp"])


def flatten(entry: Any) -> Fields:
    """Read an entry of any envelope into :class:`Fields` (missing parts stay empty).

    >>> f = flatten({"timestamp": 5, "label_values": [{"label": "URL", "href": "https://x/p/A/"},
    ...     {"title": "Owner", "dict": [{"title": "", "dict": [{"label": "Username",
    ...     "value": "jane"}]}]}]})
    >>> f.hrefs, f.labels["Owner.Username"], f.times
    (['https://x/p/A/'], 'jane', [5])
    """
    out = Fields()
    if not isinstance(entry, dict):
        return out
    if isinstance(entry.get("title"), str):
        out.title = entry["title"]
    for key in ("timestamp", "creation_timestamp"):
        if key in entry:
            out.times.append(entry[key])
    for item in entry.get("string_list_data") or []:
        if isinstance(item, dict):
            if isinstance(item.get("href"), str) and item["href"]:
                out.hrefs.append(item["href"])
            if isinstance(item.get("value"), str):
                out.values.append(item["value"])
            if "timestamp" in item:
                out.times.append(item["timestamp"])
    smap = entry.get("string_map_data")
    for label, item in smap.items() if isinstance(smap, dict) else []:
        if isinstance(item, dict):
            value = item.get("value")
            out.labels.setdefault(label, value if isinstance(value, str) else "")
            if isinstance(item.get("href"), str) and item["href"]:
                out.hrefs.append(item["href"])
            if "timestamp" in item:
                out.times.append(item["timestamp"])
    _labels(entry.get("label_values"), "", out, True)
    return out


class ExportFiles:
    """The files of one export, read from a .zip or a folder, with the root folder stripped.

    ``names`` maps each file's path relative to the export root (``media/posts/…``) to where
    it is read from; ``name_hint`` is the archive's or folder's name (it carries the
    username: ``instagram-<username>-<date>-<token>``).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            found = [
                p.relative_to(self.path).as_posix()
                for p in self.path.rglob("*")
                if p.is_file() and not p.is_symlink()  # a link could point out of the export
            ]
            raw = {n: n for n in found if not _junk(n)}
        elif self.path.is_file():
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise InputError(f"{self.path}: not a .zip file ({exc})") from None
            raw = {i.filename: i.filename for i in self._zip.infolist() if not i.is_dir()}
            raw = {n: n for n in raw if not _junk(n)}
        else:
            raise InputError(f"{self.path}: no such file or folder (expected an Instagram export)")
        tops = {PurePosixPath(n).parts[0] for n in raw}
        hint = self.path.stem if self._zip else self.path.name
        if len(tops) == 1 and all(len(PurePosixPath(n).parts) > 1 for n in raw):
            root = next(iter(tops))  # the export's own root folder, e.g. instagram-jane-…
            hint = root if _ARCHIVE_NAME.match(root + "-") else hint
            raw = {n.split("/", 1)[1]: m for n, m in raw.items()}
        self.names = raw
        self.name_hint = hint

    def __enter__(self) -> ExportFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def username_hint(self) -> str | None:
        """The username in the archive's name, if it follows Instagram's naming."""
        match = _ARCHIVE_NAME.match(self.name_hint + "-")
        return match.group(1) if match else None

    def routed(self) -> Iterator[tuple[str, str]]:
        """``(kind, name)`` of every file the importer reads, in name order."""
        for name in sorted(self.names):
            kind = route(name)
            if kind is not None:
                yield kind, name

    def read_bytes(self, name: str) -> bytes:
        where = self.names[name]
        if self._zip is not None:
            return self._zip.read(where)
        return (self.path / where).read_bytes()

    def open(self, name: str) -> IO[bytes]:
        """A binary stream of one file (media files are streamed, never read whole)."""
        where = self.names[name]
        if self._zip is not None:
            return self._zip.open(where)
        return (self.path / where).open("rb")

    def size(self, name: str) -> int:
        """Uncompressed size in bytes (a zip bomb is refused before it is inflated)."""
        where = self.names[name]
        if self._zip is not None:
            return self._zip.getinfo(where).file_size
        return (self.path / where).stat().st_size

    def has(self, name: str) -> bool:
        return name in self.names

    def load(self, name: str) -> list[Any]:
        """The entries of one JSON file, mojibake repaired; ``ValueError`` says why not."""
        if self.size(name) > MAX_JSON_BYTES:
            raise ValueError(f"{self.size(name):,} bytes, more than any export file holds")
        try:
            data = json.loads(repair_json_text(self.read_bytes(name).decode("utf-8-sig")))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not JSON ({exc})") from None
        return unwrap(data)
