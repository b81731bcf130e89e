"""General delimited-file importer: accounts, follows, posts and interactions from CSV/TSV files.

Columns are found through a mapping (:data:`~.mapping.DEFAULT_MAPPING`, overridden by a JSON
mapping file). Rules, in the order the files are processed:

- Every file is read and checked first (:mod:`discovery.store.validate`: a bad value is
  ``file:line: field: problem``); only then are rows written, all in one transaction, so a bad
  row anywhere leaves the database exactly as it was.
- The ids in the files are the source's: each account and post is stored under the external
  key ``csv:<id>`` and gets a dense internal id from the store, so an id of ``2**64`` or
  ``user-42`` is fine. Ids are text without white space or control characters (at most 100
  characters); integers are read as numbers (``007`` is ``7``).
- Accounts that rows refer to (authors, users, follow ends) but that neither the accounts file
  nor the database holds are created with ``handle = id``, dated at their first appearance.
- An interaction whose post is in neither the posts file nor the database is a bad row, unless
  the mapping says ``"create_posts": true`` for interactions: the post is then created (no
  author, no caption, dated at its first interaction), as a ratings file needs.
- ``like_count``/``comment_count`` come from the posts file when it has either column;
  otherwise every *new* like/comment imported adds one to its post's count.
- A missing ``created_at`` (follows, accounts) defaults to the earliest time in the import.
- Re-importing the same files changes nothing. A listed account whose key exists takes the
  file's handle and display name; a post whose key exists keeps its caption and hashtags and
  takes the file's image and media type, and its counts when the file has a count column.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..store import Store, StoreError
from ..store.records import AccountRecord, PostRecord
from ._common import BadRows, ImportSummary
from .mapping import (
    DEFAULT_MAPPING,
    Options,
    check_header,
    check_mapping,
    chunks,
    load_mapping,
    read_rows,
)

__all__ = ["CsvImport", "import_csv", "prepare_csv"]


def prepare_csv(
    *,
    accounts: str | Path | None = None,
    follows: str | Path | None = None,
    posts: str | Path | None = None,
    interactions: str | Path | None = None,
    mapping: str | Path | Mapping[str, Any] | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8-sig",
    now: int | None = None,
    allow_historic: bool = False,
) -> CsvImport:
    """Check the arguments (files exist, headers fit the mapping) before any database is touched.

    ``mapping`` is a JSON file path or an already-parsed dict; ``delimiter`` is one character
    (``"tab"`` and ``"\\t"`` mean a tab). ``utf-8-sig`` reads UTF-8 with or without a BOM.
    Times must lie between 1970 (year 1 with ``allow_historic``) and a day after ``now``
    (Unix seconds; the wall clock when None).
    """
    given = {"accounts": accounts, "follows": follows, "posts": posts, "interactions": interactions}
    files = {kind: Path(p) for kind, p in given.items() if p is not None}
    if not files:
        raise InputError("nothing to import: give --accounts, --follows, --posts or --interactions")
    for path in files.values():
        if not path.is_file():
            raise InputError(f"{path}: no such file")
    if delimiter in ("tab", "\\t"):
        delimiter = "\t"
    if len(delimiter) != 1:
        raise InputError(f"--delimiter must be one character, got {delimiter!r}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"--encoding: unknown text encoding {encoding!r}") from None
    if mapping is None:
        checked = {kind: dict(fields) for kind, fields in DEFAULT_MAPPING.items()}
    elif isinstance(mapping, Mapping):
        checked = check_mapping(dict(mapping), "mapping")
    else:
        checked = load_mapping(mapping)
    options = Options(checked, delimiter, encoding, now, allow_historic)
    for kind, path in files.items():
        check_header(path, kind, options)
    return CsvImport(files, options)


def import_csv(store: Store, **kwargs: Any) -> ImportSummary:
    """Import delimited files into ``store`` in one transaction (arguments of :func:`prepare_csv`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "f.csv").write_text("src,dst,created_at\\n1,2,2024-01-01\\n2,1,1704067200\\n")
    >>> s = Store.open(":memory:")
    >>> import_csv(s, follows=d / "f.csv").rows
    [('follows', 2, 2), ('accounts (referenced, not listed)', 2, 2)]
    >>> s.ids_for_keys("accounts", ["csv:1"]) == {"csv:1": s.account_id("1")}, s.get_meta("now")
    (True, '1704067200')
    """
    return prepare_csv(**kwargs).run(store)


@dataclass
class CsvImport:
    """A checked import job; :meth:`run` writes it."""

    files: dict[str, Path]
    options: Options

    def run(self, store: Store) -> ImportSummary:
        job = _Job(store, self.options, self.files)
        job.scan()  # every file read and checked before the database is touched
        with store.transaction():
            before = store.count("post_hashtags")
            job.write()
            links = store.count("post_hashtags") - before
            if links or "posts" in self.files:
                job.summary.add("hashtag links", None, links)
            job.meta()
        return job.summary


def _key(file_id: str) -> str:
    return f"csv:{file_id}"


class _Job:
    """Two passes over the files: :meth:`scan` checks everything and gathers what rows refer
    to; :meth:`write` maps the files' ids to internal ids through the store's keys."""

    def __init__(self, store: Store, options: Options, files: dict[str, Path]) -> None:
        self.store = store
        self.options = options
        self.files = files
        self.bad = BadRows()
        self.summary = ImportSummary("csv")
        self.refs: dict[str, int] = {}  # account id -> earliest time a row refers to it
        self.listed: set[str] = set()
        self.post_ids: set[str] = set()
        self.post_refs: dict[str, int] = {}  # post id not in the posts file -> first line
        self.post_first: dict[str, int] = {}  # ... -> its earliest interaction time
        self.counts_given = False
        self.rows: dict[str, tuple[str, int | None, int]] = {}  # summary rows by file kind
        self.undated: set[str] = set()  # follow ends of follows without a time
        self.accounts: dict[str, int] = {}  # account id in the files -> internal id
        self.posts: dict[str, int] = {}  # post id in the files -> internal id

    def _rows(self, kind: str) -> Any:
        return chunks(read_rows(self.files[kind], kind, self.options, self.bad))

    def _ref(self, account: str, t: int) -> None:
        if t < self.refs.get(account, t + 1):
            self.refs[account] = t

    def _default_time(self) -> int:
        return self.summary.first if self.summary.first is not None else 0

    # ------------------------------------------------------------------ pass 1
    def scan(self) -> None:
        for kind in ("posts", "interactions", "follows", "accounts"):
            if kind in self.files:
                getattr(self, f"_scan_{kind}")(self.files[kind])
        self.bad.check()
        default = self._default_time()
        for account in self.undated:
            self._ref(account, default)

    def _scan_posts(self, path: Path) -> None:
        first_line: dict[str, int] = {}
        for chunk in self._rows("posts"):
            for line, r in chunk:
                pid = r["id"]
                if pid in first_line:
                    self.bad.add(
                        f"{path}:{line}", f"post {pid} is already on line {first_line[pid]}"
                    )
                    continue
                first_line[pid] = line
                self.counts_given |= "like_count" in r or "comment_count" in r
                self.summary.seen(r["taken_at"])
                if r.get("author") is not None:
                    self._ref(r["author"], r["taken_at"])
        self.post_ids = set(first_line)

    def _scan_interactions(self, path: Path) -> None:
        for chunk in self._rows("interactions"):
            for line, r in chunk:
                self.summary.seen(r["created_at"])
                self._ref(r["user"], r["created_at"])
                if r["post"] not in self.post_ids:
                    self.post_refs.setdefault(r["post"], line)
                    t = self.post_first.get(r["post"], r["created_at"])
                    self.post_first[r["post"]] = min(t, r["created_at"])

    def _scan_follows(self, path: Path) -> None:
        for chunk in self._rows("follows"):
            for line, r in chunk:
                if r["src"] == r["dst"]:
                    self.bad.add(f"{path}:{line}", f"account {r['src']} cannot follow itself")
                elif "created_at" in r:
                    self.summary.seen(r["created_at"])
                    self._ref(r["src"], r["created_at"])
                    self._ref(r["dst"], r["created_at"])
                else:  # dated at the import's earliest time, known once every file is read
                    self.undated.update((r["src"], r["dst"]))

    def _scan_accounts(self, path: Path) -> None:
        first_line: dict[str, int] = {}
        handles: dict[str, tuple[str, int]] = {}  # handle -> (account, line)
        for chunk in self._rows("accounts"):
            for line, r in chunk:
                aid, handle = r["id"], r.get("handle") or r["id"]
                where = f"{path}:{line}"
                if aid in first_line:
                    self.bad.add(where, f"account {aid} is already on line {first_line[aid]}")
                    continue
                if handle in handles:
                    other, other_line = handles[handle]
                    self.bad.add(
                        where,
                        f"handle {handle!r} is already used by account {other} on line {other_line}",
                    )
                    continue
                first_line[aid] = line
                handles[handle] = (aid, line)
        self.listed = set(first_line)

    # ------------------------------------------------------------------ pass 2
    def write(self) -> None:
        if "accounts" in self.files:
            self._accounts(self.files["accounts"])
        self._referenced_accounts()
        if "posts" in self.files:
            self._posts(self.files["posts"])
        if "interactions" in self.files:
            self._interactions(self.files["interactions"])
        if "follows" in self.files:
            self._follows(self.files["follows"])
        kinds = ("posts", "referenced posts", "interactions", "follows", "accounts", "referenced")
        for kind in kinds:
            if kind in self.rows:
                self.summary.add(*self.rows[kind])

    def _accounts(self, path: Path) -> None:
        default = self._default_time()
        read = new = 0
        for chunk in self._rows("accounts"):
            records = [
                AccountRecord(
                    _key(r["id"]),
                    r.get("handle") or r["id"],
                    r.get("display_name", ""),
                    r.get("kind", "person"),
                    r.get("created_at", default),
                )
                for _, r in chunk
            ]
            keys = [rec.key for rec in records]
            held = self.store.ids_for_keys("accounts", keys)
            try:
                ids = self.store.upsert_accounts(records)
            except StoreError as exc:
                raise InputError(f"{path}: {exc}") from None
            self.accounts.update((r["id"], ids[_key(r["id"])]) for _, r in chunk)
            read += len(records)
            new += len(keys) - len(held)
        self.rows["accounts"] = ("accounts", read, new)

    def _referenced_accounts(self) -> None:
        wanted = [a for a in self.refs if a not in self.listed]
        if not wanted:
            return
        held = self.store.ids_for_keys("accounts", [_key(a) for a in wanted])
        absent = [a for a in wanted if _key(a) not in held]
        try:
            ids = self.store.upsert_accounts(
                AccountRecord(_key(a), a, "", "person", self.refs[a]) for a in absent
            )
        except StoreError as exc:
            raise InputError(
                f"{exc} (accounts that rows refer to but no accounts file lists get their id as"
                " handle; list them with --accounts)"
            ) from None
        for a in wanted:
            self.accounts[a] = held.get(_key(a)) or ids[_key(a)]
        self.rows["referenced"] = ("accounts (referenced, not listed)", len(wanted), len(absent))

    def _posts(self, path: Path) -> None:
        read = new = 0
        for chunk in self._rows("posts"):
            records = [
                PostRecord(
                    _key(r["id"]),
                    None if r.get("author") is None else self.accounts[r["author"]],
                    r["taken_at"],
                    r.get("caption", ""),
                    r.get("media_type", "photo"),
                    r.get("image"),
                    r.get("like_count", 0),
                    r.get("comment_count", 0),
                )
                for _, r in chunk
            ]
            held = self.store.ids_for_keys("posts", [rec.key for rec in records])
            if not self.counts_given:  # counts come from interactions: leave stored posts be
                records = [rec for rec in records if rec.key not in held]
            ids = held | self.store.upsert_posts(records)
            # Like captions, the tags column only applies to posts this import creates.
            self.store.add_post_tags(
                (ids[_key(r["id"])], t)
                for _, r in chunk
                if _key(r["id"]) not in held
                for t in r.get("tags", ())
            )
            self.posts.update((r["id"], ids[_key(r["id"])]) for _, r in chunk)
            read += len(chunk)
            new += len(chunk) - len(held)
        self.rows["posts"] = ("posts", read, new)

    def _interactions(self, path: Path) -> None:
        posts = self.posts
        held = self.store.ids_for_keys("posts", [_key(p) for p in self.post_refs])
        create = self.options.mapping["interactions"].get("create_posts", False)
        missing = [post for post in self.post_refs if _key(post) not in held]
        for post in self.post_refs:
            if _key(post) in held:
                posts[post] = held[_key(post)]
            elif not create:
                self.bad.add(
                    f"{path}:{self.post_refs[post]}",
                    f"post {post} is in neither the posts file nor the database"
                    ' (or set "create_posts": true for interactions in the mapping)',
                )
        self.bad.check()
        if missing:
            records = [
                PostRecord(_key(p), None, self.post_first[p], "", "photo", None, 0, 0)
                for p in missing
            ]
            made = self.store.upsert_posts(records)
            posts.update((p, made[_key(p)]) for p in missing)
            self.rows["referenced posts"] = ("posts (referenced, not listed)", None, len(missing))
        update_counts = not self.counts_given
        read = new = 0
        for chunk in self._rows("interactions"):
            rows = [
                (
                    self.accounts[r["user"]],
                    posts[r["post"]],
                    r["kind"],
                    r["created_at"],
                    r.get("value"),
                )
                for _, r in chunk
            ]
            read += len(rows)
            new += self.store.add_interactions(rows, update_counts=update_counts)
        self.rows["interactions"] = ("interactions", read, new)
        if update_counts and new:
            self.summary.notes.append(
                "like/comment counts: each new like or comment counted on its post"
            )

    def _follows(self, path: Path) -> None:
        default = self._default_time()
        read = new = 0
        for chunk in self._rows("follows"):
            rows = [
                (self.accounts[r["src"]], self.accounts[r["dst"]], r.get("created_at", default))
                for _, r in chunk
            ]
            read += len(rows)
            new += self.store.add_follows(rows)
        self.rows["follows"] = ("follows", read, new)

    def meta(self) -> None:
        last = self.summary.last
        now = self.store.get_meta("now")
        if last is not None and (now is None or int(now) < last):
            self.store.set_meta("now", last)
        if self.store.get_meta("dataset") is None:
            self.store.set_meta("dataset", "csv")
