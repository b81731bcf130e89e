"""General delimited-file importer: accounts, follows, posts and interactions from CSV/TSV files.

Columns are found through a mapping (:data:`~.mapping.DEFAULT_MAPPING`, overridden by a JSON
mapping file). Rules, in the order the files are processed:

- **posts** first, then **interactions**, **follows** and **accounts**; all in one transaction,
  so a bad row anywhere (``file:line: problem``) leaves the database exactly as it was.
- Accounts that rows refer to (authors, users, follow ends) but that neither the accounts file
  nor the database holds are created with ``handle = str(id)``, dated at their first appearance.
- An interaction whose post is in neither the posts file nor the database is a bad row.
- ``like_count``/``comment_count`` come from the posts file when it has either column;
  otherwise every *new* like/comment imported adds one to its post's count.
- A missing ``created_at`` (follows, accounts) defaults to the earliest time in the import.
- Re-importing the same files changes nothing: existing ids and keys are kept untouched.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..store import Store, StoreError
from ._common import BadRows, ImportSummary, missing_accounts, missing_posts
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
    >>> s.account_details([1])[1]["handle"], s.get_meta("now")
    ('1', '1704067200')
    """
    return prepare_csv(**kwargs).run(store)


@dataclass
class CsvImport:
    """A checked import job; :meth:`run` writes it."""

    files: dict[str, Path]
    options: Options

    def run(self, store: Store) -> ImportSummary:
        job = _Job(store, self.options)
        with store.transaction():
            before = store.count("post_hashtags")
            steps = (
                ("posts", job.posts),
                ("interactions", job.interactions),
                ("follows", job.follows),
                ("accounts", job.accounts),
            )
            for kind, step in steps:
                if kind in self.files:
                    step(self.files[kind])
            job.referenced_accounts()
            links = store.count("post_hashtags") - before
            if links or "posts" in self.files:
                job.summary.add("hashtag links", None, links)
            job.meta()
        return job.summary


class _Job:
    def __init__(self, store: Store, options: Options) -> None:
        self.store = store
        self.options = options
        self.bad = BadRows()
        self.summary = ImportSummary("csv")
        self.refs: dict[int, int] = {}  # account id -> earliest time a row refers to it
        self.listed: set[int] = set()
        self.post_ids: set[int] = set()
        self.counts_given = False

    def _rows(self, path: Path, kind: str) -> Any:
        return chunks(read_rows(path, kind, self.options, self.bad))

    def _ref(self, account: int, t: int) -> None:
        if t < self.refs.get(account, t + 1):
            self.refs[account] = t

    def _default_time(self) -> int:
        return self.summary.first if self.summary.first is not None else 0

    def posts(self, path: Path) -> None:
        first_line: dict[int, int] = {}
        read = new = 0
        for chunk in self._rows(path, "posts"):
            rows: list[tuple[Any, ...]] = []
            tags: list[tuple[int, str]] = []
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
                tags.extend((pid, t) for t in r.get("tags", ()))
                rows.append(
                    (
                        pid,
                        r.get("author"),
                        r["taken_at"],
                        r.get("caption", ""),
                        r.get("media_type", "photo"),
                        r.get("image"),
                        r.get("like_count", 0),
                        r.get("comment_count", 0),
                    )
                )
            read += len(rows)
            if self.bad.count:
                continue  # the import is refused; keep reading only to count bad rows
            fresh = missing_posts(self.store, [row[0] for row in rows])
            new += self.store.add_posts(rows)
            # Like captions, the tags column only applies to posts this import creates.
            self.store.add_post_tags((p, t) for p, t in tags if p in fresh)
        self.bad.check()
        self.post_ids = set(first_line)
        self.summary.add("posts", read, new)

    def interactions(self, path: Path) -> None:
        update_counts = not self.counts_given
        unknown: dict[int, int] = {}  # post -> first line that refers to it
        read = new = 0
        for chunk in self._rows(path, "interactions"):
            rows = []
            for line, r in chunk:
                t = r["created_at"]
                self.summary.seen(t)
                self._ref(r["user"], t)
                if r["post"] not in self.post_ids:
                    unknown.setdefault(r["post"], line)
                rows.append((r["user"], r["post"], r["kind"], t, r.get("value")))
            read += len(rows)
            if not self.bad.count:
                new += self.store.add_interactions(rows, update_counts=update_counts)
        self.bad.check()
        absent = missing_posts(self.store, unknown)
        for post, line in unknown.items():
            if post in absent:
                self.bad.add(
                    f"{path}:{line}", f"post {post} is in neither the posts file nor the database"
                )
        self.bad.check()
        self.summary.add("interactions", read, new)
        if update_counts and new:
            self.summary.notes.append(
                "like/comment counts: each new like or comment counted on its post"
            )

    def follows(self, path: Path) -> None:
        default = self._default_time()
        read = new = 0
        for chunk in self._rows(path, "follows"):
            rows = []
            for line, r in chunk:
                src, dst = r["src"], r["dst"]
                if src == dst:
                    self.bad.add(f"{path}:{line}", f"account {src} cannot follow itself")
                    continue
                t = r.get("created_at", default)
                if "created_at" in r:
                    self.summary.seen(t)
                self._ref(src, t)
                self._ref(dst, t)
                rows.append((src, dst, t))
            read += len(rows)
            if not self.bad.count:
                new += self.store.add_follows(rows)
        self.bad.check()
        self.summary.add("follows", read, new)

    def accounts(self, path: Path) -> None:
        default = self._default_time()
        first_line: dict[int, int] = {}
        handles: dict[str, tuple[int, int]] = {}  # handle -> (account, line)
        read = new = 0
        for chunk in self._rows(path, "accounts"):
            rows = []
            for line, r in chunk:
                aid, handle = r["id"], r.get("handle") or str(r["id"])
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
                kind = r.get("kind", "person")
                rows.append(
                    (aid, handle, r.get("display_name", ""), kind, r.get("created_at", default))
                )
            read += len(rows)
            if self.bad.count:
                continue
            try:
                new += self.store.add_accounts(rows)
            except StoreError as exc:
                raise InputError(f"{path}: {exc}") from None
        self.bad.check()
        self.listed = set(first_line)
        self.summary.add("accounts", read, new)

    def referenced_accounts(self) -> None:
        wanted = [a for a in self.refs if a not in self.listed]
        if not wanted:
            return
        absent = sorted(missing_accounts(self.store, wanted))
        try:
            new = self.store.add_accounts((a, str(a), "", "person", self.refs[a]) for a in absent)
        except StoreError as exc:
            raise InputError(
                f"{exc} (accounts that rows refer to but no accounts file lists get their id as"
                " handle; list them with --accounts)"
            ) from None
        self.summary.add("accounts (referenced, not listed)", len(wanted), new)

    def meta(self) -> None:
        last = self.summary.last
        now = self.store.get_meta("now")
        if last is not None and (now is None or int(now) < last):
            self.store.set_meta("now", last)
        if self.store.get_meta("dataset") is None:
            self.store.set_meta("dataset", "csv")
