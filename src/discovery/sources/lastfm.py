"""Preset importer for the HetRec 2011 Last.fm-2k dataset (Cantador, Brusilovsky & Kuflik, 2011).

How the files map onto the photo-network model:

===========================  ==================================================================
``user_friends.dat``         follows (every friendship is listed in both directions), dated at
                             the dataset's first valid date
``artists.dat``              items (posts) with **no author**; caption = artist name as given,
                             image = picture URL (NULL when empty); taken_at = the first time
                             anyone tagged the artist, else the dataset's first date
``user_taggedartists.dat``   hashtags on the artist (the tag text, normalised as usual), and one
                             **like** per (user, artist, day) — the positive signal — whose value
                             is the number of tags the user gave that day
``user_artists.dat``         one **view** per (user, artist) with value = play count, dated at
                             the user's first tag of that artist, else the user's first tag,
                             else the dataset's first date (play counts carry no date)
``tags.dat``                 tag texts (**Latin-1**, not UTF-8)
===========================  ==================================================================

A tag assignment whose year is outside 2002 (Last.fm's launch) … 2011 (the crawl) — the files
hold 1956, 1957 and 1979 — still gives its tag to the artist but makes no interaction; one on an
artist missing from ``artists.dat`` is dropped. Both are counted in the summary. Accounts get
``handle = str(user id)`` and the key ``lastfm:u<id>``, artists the key ``lastfm:a<id>``; the
store hands out the internal ids. Meta ``now`` is the last valid date and ``dataset`` is
``lastfm-2k``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..store import Store
from ..store.records import AccountRecord, PostRecord
from ..store.validate import (
    CAPTION_MAX,
    BadValue,
    check_count,
    check_id,
    check_text,
    check_url_or_path,
)
from ._common import ImportSummary

__all__ = [
    "DATASET",
    "FILES",
    "VALID_YEARS",
    "LastfmData",
    "import_lastfm",
    "lastfm_files",
    "read_lastfm",
]

DATASET = "lastfm-2k"
#: File → (columns in its header row, text encoding).
FILES: dict[str, tuple[tuple[str, ...], str]] = {
    "artists.dat": (("id", "name", "url", "pictureURL"), "utf-8"),
    "tags.dat": (("tagID", "tagValue"), "latin-1"),
    "user_artists.dat": (("userID", "artistID", "weight"), "utf-8"),
    "user_friends.dat": (("userID", "friendID"), "utf-8"),
    "user_taggedartists.dat": (("userID", "artistID", "tagID", "day", "month", "year"), "utf-8"),
}
#: Years a tag assignment can really have: Last.fm launched in 2002; the data is from May 2011.
VALID_YEARS = range(2002, 2012)
_COUNTS = frozenset({"weight", "day", "month", "year"})  # columns that are not ids


def lastfm_files(directory: str | Path) -> dict[str, Path]:
    """The five data files in ``directory``; :class:`InputError` naming the first one missing."""
    root = Path(directory)
    if not root.is_dir():
        raise InputError(f"{root}: no such directory (expected the HetRec 2011 Last.fm-2k files)")
    paths = {name: root / name for name in FILES}
    for name, path in paths.items():
        if not path.is_file():
            raise InputError(f"{root}: no {name} (expected the HetRec 2011 Last.fm-2k files)")
    return paths


def _table(path: Path) -> Iterator[tuple[int, list[str]]]:
    columns, encoding = FILES[path.name]
    try:
        with path.open(encoding=encoding, newline="") as handle:
            header = handle.readline().rstrip("\r\n").split("\t")
            if header != list(columns):
                raise InputError(f"{path}:1: expected columns {', '.join(columns)}")
            for number, line in enumerate(handle, start=2):
                line = line.rstrip("\r\n")
                if not line:
                    continue
                cells = line.split("\t")
                if len(cells) != len(columns):
                    raise InputError(
                        f"{path}:{number}: {len(cells)} fields, expected {len(columns)}"
                    )
                yield number, cells
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not {encoding} text ({exc.reason})") from None


def _ints(path: Path, number: int, cells: list[str], names: tuple[str, ...]) -> list[int]:
    """The cells as ids (or counts: play count, date parts) inside the store's limits."""
    try:
        return [
            check_count(c, name) if name in _COUNTS else check_id(c, name)
            for c, name in zip(cells, names, strict=True)
        ]
    except BadValue as exc:
        raise InputError(f"{path}:{number}: {exc}") from None


def _text(path: Path, number: int, value: str, name: str) -> str:
    try:
        return check_text(value, name, max_chars=CAPTION_MAX)
    except BadValue as exc:
        raise InputError(f"{path}:{number}: {exc}") from None


def _picture(path: Path, number: int, value: str) -> str | None:
    if not value.strip():
        return None
    try:
        return check_url_or_path(value.strip(), "pictureURL")
    except BadValue as exc:
        raise InputError(f"{path}:{number}: {exc}") from None


@dataclass
class LastfmData:
    """The dataset as rows ready for the store, plus what was dropped and why."""

    accounts: list[tuple[int, str, str, str, int]] = field(default_factory=list)
    follows: list[tuple[int, int, int]] = field(default_factory=list)
    posts: list[tuple[object, ...]] = field(default_factory=list)
    post_tags: list[tuple[int, str]] = field(default_factory=list)
    likes: list[tuple[int, int, str, int, float]] = field(default_factory=list)
    views: list[tuple[int, int, str, int, float]] = field(default_factory=list)
    tag_assignments: int = 0
    bad_dates: Counter[int] = field(default_factory=Counter)  # year -> assignments
    unknown_artist_rows: int = 0
    unknown_artists: set[int] = field(default_factory=set)
    first: int = 0
    last: int = 0


def read_lastfm(directory: str | Path) -> LastfmData:
    """Parse and derive everything (no database involved); see the module docstring."""
    paths = lastfm_files(directory)
    artists: dict[int, tuple[str, str | None]] = {}
    for n, cells in _table(paths["artists.dat"]):
        path = paths["artists.dat"]
        (aid,) = _ints(path, n, cells[:1], ("id",))
        artists[aid] = (_text(path, n, cells[1], "name"), _picture(path, n, cells[3]))
    tags = {}
    for n, cells in _table(paths["tags.dat"]):
        (tid,) = _ints(paths["tags.dat"], n, cells[:1], ("tagID",))
        tags[tid] = _text(paths["tags.dat"], n, cells[1], "tagValue")

    out = LastfmData()
    users: set[int] = set()
    events: Counter[tuple[int, int, int]] = Counter()  # (user, artist, time) -> tags that day
    links: dict[tuple[int, int], None] = {}  # (artist, tag id), in file order
    path = paths["user_taggedartists.dat"]
    for n, cells in _table(path):
        user, artist, tag, day, month, year = _ints(path, n, cells, FILES[path.name][0])
        out.tag_assignments += 1
        users.add(user)
        if tag not in tags:
            raise InputError(f"{path}:{n}: tagID {tag} is not in tags.dat")
        if artist not in artists:
            out.unknown_artist_rows += 1
            out.unknown_artists.add(artist)
            continue
        links.setdefault((artist, tag))
        try:
            if year not in VALID_YEARS:
                raise ValueError
            t = int(dt.datetime(year, month, day, tzinfo=dt.UTC).timestamp())
        except ValueError:
            out.bad_dates[year] += 1
            continue
        events[user, artist, t] += 1
    if not events:
        raise InputError(f"{path}: no tag assignment with a valid date")
    times = [t for _, _, t in events]
    out.first, out.last = min(times), max(times)

    first_pair: dict[tuple[int, int], int] = {}
    first_user: dict[int, int] = {}
    first_artist: dict[int, int] = {}
    for user, artist, t in sorted(events, key=lambda e: e[2]):
        first_pair.setdefault((user, artist), t)
        first_user.setdefault(user, t)
        first_artist.setdefault(artist, t)
    likes_per_artist = Counter(artist for _, artist, _ in events)
    out.likes = [(u, a, "like", t, float(c)) for (u, a, t), c in sorted(events.items())]
    out.post_tags = [(a, tags[tid]) for a, tid in sorted(links)]

    path = paths["user_artists.dat"]
    for n, cells in _table(path):
        user, artist, weight = _ints(path, n, cells, FILES[path.name][0])
        if artist not in artists:
            raise InputError(f"{path}:{n}: artistID {artist} is not in artists.dat")
        users.add(user)
        t = first_pair.get((user, artist), first_user.get(user, out.first))
        out.views.append((user, artist, "view", t, float(weight)))
    out.views.sort()

    path = paths["user_friends.dat"]
    for n, cells in _table(path):
        user, friend = _ints(path, n, cells, FILES[path.name][0])
        users.update((user, friend))
        out.follows.append((user, friend, out.first))
    out.follows.sort()

    out.accounts = [(u, str(u), "", "person", first_user.get(u, out.first)) for u in sorted(users)]
    out.posts = [
        (
            aid,
            None,
            first_artist.get(aid, out.first),
            name,
            "photo",
            picture,
            likes_per_artist[aid],
            0,
        )
        for aid, (name, picture) in sorted(artists.items())
    ]
    return out


def import_lastfm(store: Store, directory: str | Path) -> ImportSummary:
    """Import the Last.fm-2k files into ``store`` in one transaction (idempotent)."""
    data = read_lastfm(directory)
    summary = ImportSummary(DATASET, first=data.first, last=data.last)
    with store.transaction():
        held = store.get_meta("dataset")
        if held not in (None, DATASET) or (held is None and store.count("accounts")):
            raise InputError(
                f"{store.path}: already holds other data ({held or 'not from an import'});"
                " import Last.fm into a fresh --db"
            )
        users = [AccountRecord(f"lastfm:u{u}", h, d, k, t) for u, h, d, k, t in data.accounts]
        known = store.ids_for_keys("accounts", [r.key for r in users])
        user = {int(k[len("lastfm:u") :]): i for k, i in store.upsert_accounts(users).items()}
        summary.add("users → accounts", len(users), len(users) - len(known))
        follows = [(user[a], user[b], t) for a, b, t in data.follows]
        summary.add("friend pairs → follows", len(follows), store.add_follows(follows))
        artists = [
            PostRecord(f"lastfm:a{p[0]}", None, *p[2:])  # type: ignore[arg-type]
            for p in data.posts
        ]
        known = store.ids_for_keys("posts", [r.key for r in artists])
        artist = {int(k[len("lastfm:a") :]): i for k, i in store.upsert_posts(artists).items()}
        summary.add("artists → items", len(artists), len(artists) - len(known))
        tags = [(artist[a], tag) for a, tag in data.post_tags]
        summary.add("artist tags → hashtags", len(tags), store.add_post_tags(tags))
        for what, rows in (("tag days → likes", data.likes), ("play counts → views", data.views)):
            mapped = [(user[u], artist[a], k, t, v) for u, a, k, t, v in rows]
            summary.add(what, len(mapped), store.add_interactions(mapped))
        store.set_meta("now", data.last)
        store.set_meta("dataset", DATASET)
    summary.notes.append(f"{data.tag_assignments} tag assignments read")
    if data.bad_dates:
        years = ", ".join(str(y) for y in sorted(data.bad_dates))
        summary.notes.append(
            f"{sum(data.bad_dates.values())} tag assignments with impossible dates (years {years}):"
            " tag kept on the artist, no like"
        )
    if data.unknown_artist_rows:
        summary.notes.append(
            f"{data.unknown_artist_rows} tag assignments on {len(data.unknown_artists)} artists"
            " missing from artists.dat: dropped"
        )
    return summary
