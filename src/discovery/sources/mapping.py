"""Column mappings and row reading for the delimited-file importer (:mod:`.csv`).

Each file has a header row. :data:`DEFAULT_MAPPING` names the columns read for every field; a
mapping (JSON, see :func:`load_mapping`) renames columns or sets constants per field::

    {"follows": {"src": "follower_id", "dst": "followee_id", "created_at": {"value": 0}},
     "interactions": {"kind": {"value": "like"}, "created_at": "ts"}}

A field given as ``null`` is read as absent (its default). Rows are parsed here and every value
checked against :mod:`discovery.store.validate`; a bad row is recorded as
``file:line: field: problem`` and skipped, and the importer refuses the whole import.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..store import ACCOUNT_KINDS, INTERACTION_KINDS, MEDIA_TYPES
from ..store.validate import (
    CAPTION_MAX,
    DISPLAY_NAME_MAX,
    BadValue,
    brief,
    check_count,
    check_handle,
    check_text,
    check_time,
    check_url_or_path,
)
from ._common import BadRows, parse_float, parse_int, parse_time

__all__ = [
    "DEFAULT_MAPPING",
    "FIELDS",
    "REQUIRED",
    "Options",
    "check_header",
    "check_mapping",
    "chunks",
    "file_id",
    "load_mapping",
    "read_rows",
]

#: The fields of every file, in the order of the summary.
FIELDS: dict[str, tuple[str, ...]] = {
    "accounts": ("id", "handle", "display_name", "kind", "created_at"),
    "follows": ("src", "dst", "created_at"),
    "posts": (
        "id",
        "author",
        "taken_at",
        "caption",
        "media_type",
        "image",
        "like_count",
        "comment_count",
        "tags",
    ),
    "interactions": ("user", "post", "kind", "created_at", "value"),
}
#: Fields that must come from a column or a constant; the others have defaults.
REQUIRED: dict[str, frozenset[str]] = {
    "accounts": frozenset({"id"}),
    "follows": frozenset({"src", "dst"}),
    "posts": frozenset({"id", "taken_at"}),
    "interactions": frozenset({"user", "post", "kind", "created_at"}),
}
#: By default every field is read from the column of the same name.
DEFAULT_MAPPING: dict[str, dict[str, Any]] = {
    kind: {name: name for name in names} for kind, names in FIELDS.items()
}
_IDS = {"id", "src", "dst", "author", "user", "post"}
_INTEGER = re.compile(r"\+?[0-9]+")
_LONGEST_ID = 100
_TIMES = {"created_at", "taken_at"}
_CHUNK = 20_000


def load_mapping(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read and check a mapping file (see the module docstring for the format)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read mapping ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    return check_mapping(raw, str(path))


def check_mapping(raw: Any, where: str) -> dict[str, dict[str, Any]]:
    """Validate a mapping (parsed JSON) and merge it over :data:`DEFAULT_MAPPING`.

    >>> check_mapping({"follows": {"src": "from"}}, "m.json")["follows"]
    {'src': 'from', 'dst': 'dst', 'created_at': 'created_at'}
    """
    if not isinstance(raw, dict):
        raise InputError(f"{where}: a mapping is a JSON object keyed by file kind")
    out = {kind: dict(fields) for kind, fields in DEFAULT_MAPPING.items()}
    for kind, fields in raw.items():
        if kind not in FIELDS:
            raise InputError(f"{where}: unknown file kind {kind!r} (use {', '.join(FIELDS)})")
        if not isinstance(fields, dict):
            raise InputError(f"{where}: {kind}: expected an object of field: column")
        for name, spec in fields.items():
            if name not in FIELDS[kind]:
                known = ", ".join(FIELDS[kind])
                raise InputError(f"{where}: {kind}.{name}: unknown field (fields: {known})")
            ok = spec is None or isinstance(spec, str)
            if isinstance(spec, dict):
                ok = set(spec) == {"value"} and not isinstance(spec["value"], dict | list)
            if not ok:
                raise InputError(
                    f'{where}: {kind}.{name}: expected a column name, null, or {{"value": ...}}'
                )
            if isinstance(spec, dict):
                try:  # a bad constant is reported once, here, rather than on every row
                    _converter(kind, name, Options(out, ",", "utf-8"))(_text(spec["value"]))
                except ValueError as exc:
                    raise InputError(f"{where}: {kind}.{name}: {exc}") from None
            out[kind][name] = spec
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _choice(text: str, names: tuple[str, ...], what: str, default: str | None) -> str:
    value = text.strip().lower()
    if not value and default is not None:
        return default
    if value not in names:
        raise BadValue(what, f"{brief(text)} is not one of {', '.join(names)}")
    return value


def _converter(kind: str, name: str, opts: Options) -> Callable[[str], Any]:
    """The parser for one field, chosen once per column rather than once per cell.

    Every value leaves here inside the limits of :mod:`discovery.store.validate`, or as a
    :class:`BadValue` naming the field.
    """
    if name == "author":
        return lambda text: file_id(text, name) if text.strip() else None
    if name in _IDS:
        return lambda text: file_id(text, name)
    if name in _TIMES:
        now = opts.clock()
        return lambda text: check_time(
            parse_time(text, name), name, now=now, allow_historic=opts.allow_historic
        )
    if name in ("like_count", "comment_count"):
        return lambda text: check_count(parse_int(text, name), name) if text.strip() else 0
    if name == "value":
        return lambda text: parse_float(text, name) if text.strip() else None
    if name == "kind" and kind == "accounts":
        return lambda text: _choice(text, ACCOUNT_KINDS, "kind", "person")
    if name == "kind":
        return lambda text: _choice(text, INTERACTION_KINDS, "kind", None)
    if name == "media_type":
        return lambda text: _choice(text, MEDIA_TYPES, "media_type", "photo")
    if name == "image":
        return lambda text: check_url_or_path(text.strip(), name) if text.strip() else None
    if name == "handle":
        return lambda text: _handle(text.strip().lstrip("@"))
    if name == "tags":
        return lambda text: [
            t
            for t in re.split(r"[\s,]+", check_text(text, name, max_chars=CAPTION_MAX))
            if t.strip("#")
        ]
    if name == "display_name":
        return lambda text: check_text(text, name, max_chars=DISPLAY_NAME_MAX)
    return lambda text: check_text(text, name, max_chars=CAPTION_MAX)  # caption: as written


def file_id(text: str, what: str) -> str:
    """An id as the file gives it (the source's, stored as the key ``csv:<id>``): text without
    white space or control characters, at most 100 characters; integers in canonical form.

    >>> file_id(" 007 ", "id"), file_id(str(2**64), "id"), file_id("user-42", "id")
    ('7', '18446744073709551616', 'user-42')
    >>> file_id("a b", "dst")
    Traceback (most recent call last):
    discovery.store.validate.BadValue: dst: 'a b' contains white space (U+0020)
    """
    value = text.strip()
    if not value:
        raise BadValue(what, "empty")
    if len(value) <= _LONGEST_ID and _INTEGER.fullmatch(value):
        return str(int(value))
    return check_handle(value, what)


def _handle(text: str) -> str:
    return check_handle(text) if text else ""  # empty: the importer names the account by id


@dataclass(frozen=True)
class Options:
    """How to read the files: the checked mapping, the delimiter and the text encoding.

    ``now`` is the importer's clock (Unix seconds; None: the wall clock when reading starts):
    times more than a day past it are refused, as are times before 1970 unless
    ``allow_historic``.
    """

    mapping: dict[str, dict[str, Any]]
    delimiter: str
    encoding: str
    now: int | None = None
    allow_historic: bool = False

    def clock(self) -> int:
        return int(time.time()) if self.now is None else self.now


def check_header(path: Path, kind: str, opts: Options) -> None:
    """Raise :class:`InputError` now if the file's header does not fit the mapping."""
    for _ in read_rows(path, kind, opts, BadRows(), header_only=True):
        pass


def read_rows(
    path: Path, kind: str, opts: Options, bad: BadRows, *, header_only: bool = False
) -> Iterator[tuple[int, dict]]:
    """Yield ``(line, {field: value})`` for the good rows of one file; record the bad ones."""
    try:
        handle = path.open(newline="", encoding=opts.encoding)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        reader = csv.reader(handle, delimiter=opts.delimiter)
        try:
            header = [h.strip() for h in next(reader, [])]
            if not header:
                raise InputError(f"{path}: empty file (the first line must name the columns)")
            columns, constants = _resolve(path, kind, header, opts)
            if header_only:
                return
            parsers = [(n, i, _converter(kind, n, opts)) for n, i in columns.items()]
            for cells in reader:
                where = f"{path}:{reader.line_num}"
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    bad.add(where, f"{len(cells)} fields, the header has {len(header)}")
                    continue
                try:
                    row = {n: parse(cells[i]) for n, i, parse in parsers}
                except ValueError as exc:
                    bad.add(where, str(exc))
                    continue
                row.update(constants)
                yield reader.line_num, row
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path}: not {opts.encoding} text ({exc.reason} at byte {exc.start});"
                " use --encoding"
            ) from None
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: {exc}") from None


def _resolve(
    path: Path, kind: str, header: list[str], opts: Options
) -> tuple[dict[str, int], dict[str, Any]]:
    """Which column (or constant) each field comes from; absent optional fields are left out."""
    spec: Mapping[str, Any] = opts.mapping[kind]
    columns: dict[str, int] = {}
    constants: dict[str, Any] = {}
    for name in FIELDS[kind]:
        source = spec.get(name)
        if isinstance(source, dict):
            try:
                constants[name] = _converter(kind, name, opts)(_text(source["value"]))
            except ValueError as exc:  # e.g. a constant time beyond --now
                raise InputError(f"{path}: {kind}.{name}: {exc}") from None
        elif isinstance(source, str) and source in header:
            columns[name] = header.index(source)
        elif source is None and name in REQUIRED[kind]:
            raise InputError(
                f"{path}: {kind} field {name!r} is required; map it to a column or a constant"
            )
        elif name in REQUIRED[kind] or (source is not None and source != name):
            # A required field, or a column the mapping names explicitly, must be there.
            raise InputError(
                f"{path}: no column {source!r} for {kind} field {name!r}"
                f" (columns: {', '.join(header)}); map it with --mapping"
            )
    return columns, constants


def chunks(rows: Iterator[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk
