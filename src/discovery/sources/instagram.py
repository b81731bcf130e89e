"""``discovery import instagram EXPORT``: your side of Instagram, from its data export.

How the export maps onto the store (keys ``ig:<username>`` for accounts, ``ig:<shortcode>``
for posts, ``ig:<you>/<time>/<media path>`` for your own posts):

=======================  =====================================================================
following / followers_N  follow edges you → them / them → you, dated when the follow began
recently unfollowed      your follow is removed (unless the export shows you followed again)
liked posts              a post (author = owner, caption when the export has it, so its
                         hashtags) and your **like**; the owner becomes an account
saved posts              the same with a **save**
liked comments           the comment's author becomes an account; a **view** of the post
your comments            the post's owner becomes an account and you **comment**: on the post
                         when the entry names it; else (what exports give: only the owner) on
                         a marker post ``ig:@<owner>`` by the owner (dated 1970, never a
                         candidate), so the comment still weighs your graph edge to the owner
                         (likes 1, comments 2 in the weighted PageRank)
your posts               posts by you; the first media file copied into
                         ``<db>.media/ig/<sha256>.<ext>`` and stored as their image
followed hashtags        interests: one ``tag`` interaction, dated at the export's newest time,
                         on a marker post ``ig:#<tag>`` (no author, dated 1970, so never a
                         candidate) whose caption is the hashtag — the interest profile reads
                         exactly such interactions
blocked                  your saved setting ``blocked`` (handles every feed filters out)
=======================  =====================================================================

An export holds no post of the accounts you follow and no counts: it gives the graph around
you, your interests and the authors you engage with; a network connector brings the posts.
Everything is written in one transaction; re-importing the same or a newer export only adds
what is new. ``dry_run`` runs the same transaction and rolls it back.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import Counter
from pathlib import Path, PurePosixPath

from ..errors import InputError
from ..store import Store
from ..store.model import normalize_hashtag
from ..store.records import AccountRecord, PostRecord
from ..store.validate import BadValue, check_handle, check_url_or_path
from ._common import ImportSummary
from .instagram_files import ExportFiles
from .instagram_read import InstagramExport, PostRef, read_export

__all__ = ["LABELS", "SOURCE", "import_instagram", "read_instagram"]

SOURCE = "instagram"
#: File kind → its row in the summary table.
LABELS = {
    "following": "following → follows",
    "followers": "followers → follows",
    "unfollowed": "recently unfollowed → follows removed",
    "liked_posts": "liked posts → likes",
    "saved_posts": "saved posts → saves",
    "liked_comments": "liked comments → views",
    "comments": "your comments → comments",
    "posts": "your posts → posts",
    "hashtags": "followed hashtags → interests",
    "blocked": "blocked → blocked setting",
}


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def read_instagram(path: str | Path, *, username: str | None = None) -> InstagramExport:
    """Parse an export (a .zip or a folder) without touching a database."""
    with ExportFiles(path) as files:
        return read_export(files, username=username)


def import_instagram(
    store: Store, path: str | Path, *, username: str | None = None, dry_run: bool = False
) -> ImportSummary:
    """Import one export into ``store`` (see the module docstring); the summary says what
    was read, new and skipped per file kind. :class:`InputError` (one line) when the path is
    not an export or its owner cannot be told."""
    with ExportFiles(path) as files:
        export = read_export(files, username=username)
        if not export.files:
            html = any(n.endswith(".html") for n in files.names)
            raise InputError(
                f"{path}: no Instagram export JSON files found"
                + (" (this is the HTML export: request the JSON format)" if html else "")
            )
        if not export.username:
            raise InputError(
                f"{path}: cannot tell whose export this is (no personal_information.json, and"
                " the name is not instagram-<username>-<date>-…); pass --username"
            )
        try:
            check_handle(export.username, "username")
        except BadValue as exc:
            raise InputError(f"{path}: {exc}") from None
        summary = ImportSummary(f"Instagram export of @{export.username}")
        try:
            with store.transaction():
                _write(store, files, export, summary, dry_run)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            summary.notes.append("dry run: nothing was written")
    return summary


def _merge_posts(refs: list[PostRef]) -> dict[str, PostRef]:
    """One record per post key: the first known owner, the earliest time, the longest
    caption (a post liked and saved appears in both files)."""
    out: dict[str, PostRef] = {}
    for r in refs:
        held = out.get(r.key)
        if held is None:
            out[r.key] = r
            continue
        out[r.key] = PostRef(
            r.key,
            held.owner or r.owner,
            min(held.time, r.time),
            max(held.caption, r.caption, key=len),
            held.media_type,
            held.owner_name or r.owner_name,
        )
    return out


def _accounts(store: Store, export: InstagramExport, summary: ImportSummary) -> dict[str, int]:
    """Write every person the export names; ``username → id``."""
    me = export.username or ""
    names: dict[str, str] = {me: export.display_name}
    people = [*export.following, *export.followers]
    people += [c[0] for c in export.comments]
    for r in people:
        names.setdefault(r.name, "")
    refs = [*export.liked_posts, *export.saved_posts, *(c.post for c in export.liked_comments)]
    for p in refs:
        if p.owner and not names.get(p.owner):
            names[p.owner] = p.owner_name
    for c in export.liked_comments:
        names.setdefault(c.author, "")
    keys = {f"ig:{n}": n for n in names}
    held = store.ids_for_keys("accounts", keys)
    stored = store.account_info(sorted(held.values()))
    taken = store.account_ids(list(names) + [f"{n}@instagram.com" for n in names])
    records, clashes = [], 0
    for key, name in keys.items():
        if key in held:
            info = stored[held[key]]
            if names[name] and names[name] != info.display_name:
                records.append(AccountRecord(key, info.handle, names[name], info.kind))
            continue
        handle = name if name not in taken else f"{name}@instagram.com"
        if handle in taken:
            clashes += 1
            continue
        records.append(AccountRecord(key, handle, names[name]))
    ids = {keys[k]: i for k, i in (held | store.upsert_accounts(records)).items()}
    summary.add("people → accounts", len(keys), len(ids) - len(held))
    if clashes:
        summary.notes.append(f"{clashes} usernames skipped: their handle is another account's")
    return ids


def _copy_media(
    store: Store, files: ExportFiles, uri: str, dry_run: bool, copied: Counter[str]
) -> str | None:
    """Copy one media file to ``<db>.media/ig/<sha256>.<ext>``; its relative path."""
    if uri.startswith(("http://", "https://")):
        try:
            return check_url_or_path(uri)
        except BadValue:
            return None
    if not files.has(uri):
        copied["missing"] += 1
        return None
    digest = hashlib.sha256()
    with files.open(uri) as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    ext = PurePosixPath(uri).suffix.lower().lstrip(".")
    rel = f"ig/{digest.hexdigest()[:32]}.{ext if ext.isalnum() and len(ext) <= 5 else 'bin'}"
    if store.url.memory and not dry_run:
        copied["no media folder"] += 1
        return None
    dest = Path(str(store.path) + ".media") / rel
    if not dest.exists():
        copied["copied"] += 1
        if not dry_run:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(dest.name + ".tmp")
            with files.open(uri) as stream, tmp.open("wb") as out:
                shutil.copyfileobj(stream, out)
            os.replace(tmp, dest)
    return rel


def _write(
    store: Store,
    files: ExportFiles,
    export: InstagramExport,
    summary: ImportSummary,
    dry_run: bool,
) -> None:
    me_name = export.username or ""
    ids = _accounts(store, export, summary)
    me = ids[me_name]
    latest = export.latest() or 0
    # an unfollow wins over a follow unless this export shows a later follow; the account may
    # be known from an earlier export only
    followed_at = {r.name: r.time or 0 for r in export.following}
    known = store.ids_for_keys("accounts", [f"ig:{r.name}" for r in export.unfollowed])
    gone = {
        r.name: known[f"ig:{r.name}"]
        for r in export.unfollowed
        if f"ig:{r.name}" in known and (r.time or 0) >= followed_at.get(r.name, -1)
    }
    follows = [
        (me, ids[r.name], r.time)
        for r in export.following
        if r.name in ids and r.name not in gone and r.name != me_name
    ]
    summary.add(LABELS["following"], export.read["following"], store.add_follows(follows))
    back = [
        (ids[r.name], me, r.time) for r in export.followers if r.name in ids and r.name != me_name
    ]
    summary.add(LABELS["followers"], export.read["followers"], store.add_follows(back))
    removed = store.remove_follows([(me, a) for _, a in sorted(gone.items())])
    summary.add(LABELS["unfollowed"], export.read["unfollowed"], removed)

    refs = [*export.liked_posts, *export.saved_posts, *(c.post for c in export.liked_comments)]
    refs += [p for _, p in export.comments if p is not None]
    posts = _merge_posts(refs)
    held = store.ids_for_keys("posts", posts)
    fresh = [
        PostRecord(k, ids.get(p.owner or ""), p.time, p.caption, p.media_type)
        for k, p in posts.items()
        if k not in held
    ]
    pid = held | store.upsert_posts(fresh)
    summary.add("others' posts → posts", len(posts), len(fresh))

    copied: Counter[str] = Counter()
    own = [
        PostRecord(
            p.key, me, p.time, p.caption, p.media_type,
            _copy_media(store, files, p.media[0], dry_run, copied),
        )
        for p in export.posts
    ]  # fmt: skip
    known = store.ids_for_keys("posts", [p.key for p in own])
    pid |= store.upsert_posts(own)
    summary.add(LABELS["posts"], export.read["posts"], len(own) - len(known))
    if copied:
        summary.notes.append(
            "your media: " + ", ".join(f"{n} {what}" for what, n in sorted(copied.items()))
        )

    tags = {normalize_hashtag(r.name): r.name for r in export.hashtags}
    tags.pop("", None)
    markers = [PostRecord(f"ig:#{n}", None, 0, f"#{t}") for n, t in tags.items()]
    owners = sorted({r.name for r, p in export.comments if p is None and r.name in ids})
    markers += [PostRecord(f"ig:@{n}", ids[n], 0, "") for n in owners]
    pid |= store.upsert_posts(markers)
    comments = [
        (p.key, p.time) if p else (f"ig:@{r.name}", r.time)
        for r, p in export.comments
        if p or r.name in ids
    ]

    for kind, what, rows in (
        ("liked_posts", "like", [(p.key, p.time) for p in export.liked_posts]),
        ("saved_posts", "save", [(p.key, p.time) for p in export.saved_posts]),
        ("liked_comments", "view", [(c.post.key, c.post.time) for c in export.liked_comments]),
        ("comments", "comment", comments),
        ("hashtags", "tag", [(f"ig:#{n}", latest) for n in tags]),
    ):
        new = store.add_interactions([(me, pid[k], what, t, 1.0) for k, t in rows])
        summary.add(LABELS[kind], export.read[kind], new)
    unlinked = sum(1 for _, p in export.comments if p is None)
    if unlinked:
        summary.notes.append(
            f"{unlinked} of your comments name no post (the export gives only the owner):"
            " each is a comment on a marker post of its owner (ig:@<owner>)"
        )

    # blocked handles, as the feeds match them (an account already stored keeps its handle)
    keys = {f"ig:{r.name}": r.name for r in export.blocked}
    found = store.ids_for_keys("accounts", keys)
    info = store.account_info(sorted(found.values()))
    handle = {keys[k]: info[i].handle for k, i in found.items() if i in info}
    settings = store.user_settings(me)
    blocked = list(settings.get("blocked", []))
    names = (handle.get(r.name, r.name) for r in export.blocked)
    add = list(dict.fromkeys(n for n in names if n not in blocked))
    if add:
        store.save_user_settings(me, settings | {"blocked": blocked + add})
    summary.add(LABELS["blocked"], export.read["blocked"], len(add))

    _skips(export, summary)
    if latest and latest > int(store.get_sync(SOURCE, f"{me_name}/latest") or 0):
        store.set_sync(SOURCE, f"{me_name}/latest", str(latest))
    elif latest and latest < int(store.get_sync(SOURCE, f"{me_name}/latest") or 0):
        summary.notes.append(
            "this export is older than one imported before: follows it lists were kept"
        )
    for t in export.times():
        summary.seen(t)


def _skips(export: InstagramExport, summary: ImportSummary) -> None:
    counts = Counter(s.kind for s in export.skipped if s.entry >= 0)
    summary.skipped = {LABELS[k]: n for k, n in counts.items() if k in LABELS}
    first: dict[str, str] = {}
    for s in export.skipped:
        if s.entry < 0:
            summary.notes.append(f"skipped {s}")
        else:
            first.setdefault(s.kind, str(s))
    for kind, text in first.items():
        more = counts[kind] - 1
        summary.notes.append(f"skipped {text}" + (f" (and {more} more)" if more else ""))
