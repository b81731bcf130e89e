"""Column mappings and row reading for the delimited-file importer (:mod:`.csv`).

A file has a header row unless its mapping lists its ``columns``. :data:`DEFAULT_MAPPING` names
the column read for every field; a mapping (JSON, see :func:`load_mapping`) renames columns,
sets constants or derives a field from a column, per file kind::

    {"follows": {"src": "follower_id", "dst": "followee_id", "created_at": {"value": 0}},
     "interactions": {
        "columns": ["userID", "movieID", "genreID", "reviewID", "rating", "date"],
        "user": "userID", "post": "movieID", "created_at": "date", "value": "rating",
        "kind": {"column": "rating", "rules": [[">=", 4, "like"], [null, null, "view"]]},
        "create_posts": true}}

- a field is a column name, ``{"value": constant}``, ``null`` (absent: its default), or
  ``{"column": name, "rules": [[op, operand, result], ...]}``: the first rule whose test holds
  for the cell gives the field's value (``op`` one of ``== != < <= > >=``, numbers compared as
  numbers; ``[null, null, result]`` always holds, so it ends a list as the default);
- ``"columns": [...]``: the file has no header row; these are its columns, by position;
- ``"create_posts": true`` (interactions): a post that neither the posts file nor the database
  holds is created (no author, dated at its first interaction) instead of being a bad row.

Rows are parsed here and every value checked against :mod:`discovery.store.validate`; a bad row
is recorded as ``file:line: field: problem`` and skipped, and the importer refuses the whole
import. A bad mapping is refused before any file is read, as ``mapping.json:line: problem``.
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
#: File-level options a mapping may give beside the fields (option -> file kinds).
_OPTIONS = {"columns": tuple(FIELDS), "create_posts": ("interactions",)}
_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def load_mapping(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read and check a mapping file (see the module docstring for the format)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        raw = json.loads(text)
    except OSError as exc:
        raise InputError(f"{path}: cannot read mapping ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = f":{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise InputError(f"{path}{line}: not valid JSON ({exc})") from None
    return check_mapping(raw, str(path), text=text)


def check_mapping(raw: Any, where: str, *, text: str | None = None) -> dict[str, dict[str, Any]]:
    """Validate a mapping (parsed JSON) and merge it over :data:`DEFAULT_MAPPING`. With the
    file's ``text``, an error names the line of the key at fault (``where:line: ...``).

    >>> check_mapping({"follows": {"src": "from"}}, "m.json")["follows"]
    {'src': 'from', 'dst': 'dst', 'created_at': 'created_at'}
    >>> check_mapping({"follows": {"columns": ["a", "a"]}}, "m.json")
    Traceback (most recent call last):
    discovery.errors.InputError: m.json: follows.columns: 'a' is listed twice
    """

    def fail(message: str, *keys: str) -> InputError:
        return InputError(f"{where}{_line_of(text, keys)}: {message}")

    if not isinstance(raw, dict):
        raise fail("a mapping is a JSON object keyed by file kind")
    out = {kind: dict(fields) for kind, fields in DEFAULT_MAPPING.items()}
    for kind, fields in raw.items():
        if kind not in FIELDS:
            raise fail(f"unknown file kind {kind!r} (use {', '.join(FIELDS)})", kind)
        if not isinstance(fields, dict):
            raise fail(f"{kind}: expected an object of field: column", kind)
        columns = fields.get("columns")
        if columns is not None:
            try:
                _check_columns(columns)
            except ValueError as exc:
                raise fail(f"{kind}.columns: {exc}", kind, "columns") from None
        for name, spec in fields.items():
            at = (kind, name)
            if name in _OPTIONS:
                if kind not in _OPTIONS[name]:
                    raise fail(f"{kind}.{name}: only for {', '.join(_OPTIONS[name])}", *at)
                if name == "create_posts" and not isinstance(spec, bool):
                    raise fail(f"{kind}.{name}: expected true or false", *at)
                out[kind][name] = spec
                continue
            if name not in FIELDS[kind]:
                known = ", ".join(FIELDS[kind])
                raise fail(f"{kind}.{name}: unknown field (fields: {known})", *at)
            ok = spec is None or isinstance(spec, str)
            if isinstance(spec, dict) and "value" in spec:
                ok = set(spec) == {"value"} and not isinstance(spec["value"], dict | list)
            elif isinstance(spec, dict):
                ok = set(spec) == {"column", "rules"} and isinstance(spec["column"], str)
            if not ok:
                raise fail(
                    f'{kind}.{name}: expected a column name, null, or {{"value": ...}}'
                    ' (or {"column": ..., "rules": [[op, operand, result], ...]})',
                    *at,
                )
            parse = _converter(kind, name, Options(out, ",", "utf-8"))
            try:  # a bad constant or result is reported once, here, rather than on every row
                if isinstance(spec, dict) and "value" in spec:
                    parse(_text(spec["value"]))
                elif isinstance(spec, dict):
                    for result in _check_rules(spec["rules"]):
                        parse(_text(result))
            except ValueError as exc:
                raise fail(f"{kind}.{name}: {exc}", *at) from None
            for column in _named_columns(spec):
                if columns is not None and column not in columns:
                    raise fail(f"{kind}.{name}: {column!r} is not one of the columns", *at)
            out[kind][name] = spec
    return out


def _named_columns(spec: Any) -> list[str]:
    if isinstance(spec, str):
        return [spec]
    return [spec["column"]] if isinstance(spec, dict) and "column" in spec else []


def _check_columns(columns: Any) -> None:
    if not isinstance(columns, list) or not columns:
        raise ValueError("expected a list of column names, in file order (the file has no header)")
    seen: set[str] = set()
    for name in columns:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{name!r} is not a column name")
        if name in seen:
            raise ValueError(f"{name!r} is listed twice")
        seen.add(name)


def _check_rules(rules: Any) -> list[Any]:
    """Check ``[[op, operand, result], ...]``; return the results (each still to be parsed).

    >>> _check_rules([[">=", 4, "like"], [None, None, "view"]])
    ['like', 'view']
    >>> _check_rules([["<", "4", "view"]])
    Traceback (most recent call last):
    ValueError: rule 1: < compares numbers, got '4'
    """
    if not isinstance(rules, list) or not rules:
        raise ValueError("rules: expected a list of [op, operand, result]")
    for k, rule in enumerate(rules, 1):
        if not isinstance(rule, list) or len(rule) != 3:
            raise ValueError(f"rule {k}: expected [op, operand, result], got {rule!r}")
        op, operand, result = rule
        if op is None:
            if operand is not None:
                raise ValueError(f"rule {k}: [null, null, result] takes no operand")
        elif op not in _TESTS:
            raise ValueError(f"rule {k}: unknown op {op!r} (use {' '.join(_TESTS)} or null)")
        elif isinstance(operand, bool) or not isinstance(operand, int | float | str):
            raise ValueError(f"rule {k}: the operand is a number or a text, got {operand!r}")
        elif op not in ("==", "!=") and not isinstance(operand, int | float):
            raise ValueError(f"rule {k}: {op} compares numbers, got {operand!r}")
        if isinstance(result, dict | list) or result is None:
            raise ValueError(f"rule {k}: the result is a text or a number, got {result!r}")
    return [rule[2] for rule in rules]


def _derive(column: str, rules: list[list[Any]]) -> Callable[[str], str]:
    """The cell → text function of a derived field: the result of the first rule that holds.

    >>> rate = _derive("rating", [[">=", 4, "like"], ["==", "?", "view"]])
    >>> rate("4.5"), rate(" ? ")
    ('like', 'view')
    >>> rate("2")
    Traceback (most recent call last):
    discovery.store.validate.BadValue: rating: '2' matches no rule
    """

    def derive(text: str) -> str:
        cell = text.strip()
        for op, operand, result in rules:
            if op is None:
                return _text(result)
            if isinstance(operand, str):
                if _TESTS[op](cell, operand):
                    return _text(result)
                continue
            try:
                number = parse_float(cell, column)
            except ValueError:
                continue  # a numeric test does not hold for a cell that is not a number
            if _TESTS[op](number, operand):
                return _text(result)
        raise BadValue(column, f"{brief(text)} matches no rule")

    return derive


def _line_of(text: str | None, keys: tuple[str, ...]) -> str:
    """``:line`` of the innermost of ``keys`` (nested JSON object keys) found in ``text``.

    >>> _line_of('{"follows": {\\n  "src": 1,\\n  "dst": 2}}', ("follows", "dst"))
    ':3'
    """
    if text is None:
        return ""
    lines = text.splitlines()
    start, found = 0, ""
    for key in keys:
        pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:")
        hit = next((i for i in range(start, len(lines)) if pattern.search(lines[i])), None)
        if hit is None:
            break
        start, found = hit, f":{hit + 1}"
    return found


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
        given = opts.mapping[kind].get("columns")
        try:
            if given is not None:  # a headerless file: the mapping lists its columns
                header, has = list(given), f"the mapping's columns are {len(given)}"
            else:
                header = [h.strip() for h in next(reader, [])]
                has = f"the header has {len(header)}"
            if not header:
                raise InputError(f"{path}: empty file (the first line must name the columns)")
            columns, constants = _resolve(path, kind, header, opts)
            if header_only:
                return
            parsers = [(n, i, _parser(kind, n, opts)) for n, i in columns.items()]
            for cells in reader:
                where = f"{path}:{reader.line_num}"
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    bad.add(where, f"{len(cells)} fields, {has}")
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
        if isinstance(source, dict) and "column" in source:
            if source["column"] not in header:
                raise InputError(
                    f"{path}: no column {source['column']!r} for {kind} field {name!r}"
                    f" (columns: {', '.join(header)}); map it with --mapping"
                )
            columns[name] = header.index(source["column"])
        elif isinstance(source, dict):
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


def _parser(kind: str, name: str, opts: Options) -> Callable[[str], Any]:
    """The field's converter, after the mapping's rules where the field is derived."""
    parse = _converter(kind, name, opts)
    source = opts.mapping[kind].get(name)
    if not (isinstance(source, dict) and "column" in source):
        return parse
    derive = _derive(source["column"], source["rules"])
    return lambda text: parse(derive(text))


def chunks(rows: Iterator[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk
