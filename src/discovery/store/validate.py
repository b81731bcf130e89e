"""The rules every value obeys before it reaches the store, and safe display of stored text.

A store must never hold a row that the engine cannot load: the snapshot keeps ids in int64 and
counts in int32, formats times as ISO-8601 (years 1..9999), and PostgreSQL refuses NUL bytes and
lone surrogates in text. The checks here are pure functions that return the normalised value or
raise :class:`BadValue` with a one-line ``field: problem`` message; importers prefix it with
``file:line`` (and HTTP handlers answer 4xx with it).

Limits (one place; the README's "Validation" section restates them for users):

================  ==========================================================================
ids               integers ``0 <= id < 2**63`` (int64)
counts            integers ``0 <= n <= 2**31 - 1`` (the snapshot stores counts as int32)
times             Unix seconds from 1970-01-01 to one day after the importer's clock; with
                  ``allow_historic`` any time from year 1 on (still at most one day ahead)
captions          at most :data:`CAPTION_MAX` characters; no NUL, no lone surrogates
display names     at most :data:`DISPLAY_NAME_MAX` characters; same rules
handles           1..:data:`HANDLE_MAX` characters; no white space, control, format (bidi)
                  characters or lone surrogates; not ``.`` or ``..`` (a URL path segment)
images            an ``http(s)://host/...`` URL or a relative path without ``..``
================  ==========================================================================

Display: :func:`display_safe` replaces control characters, bidi overrides/isolates/marks and
lone surrogates by their visible Python escape (``\\u202e``), so "@‮gnp.exe" shows as
``@\\u202egnp.exe`` instead of spoofing "@exe.png".
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from ..errors import InputError

__all__ = [
    "CAPTION_MAX",
    "COUNT_MAX",
    "DISPLAY_NAME_MAX",
    "FUTURE_SLACK",
    "HANDLE_MAX",
    "ID_MAX",
    "IMAGE_MAX",
    "NUMBER_MAX",
    "TIME_MAX",
    "TIME_MIN",
    "BadValue",
    "brief",
    "check_count",
    "check_handle",
    "check_id",
    "check_number",
    "check_text",
    "check_time",
    "check_url_or_path",
    "display_safe",
    "is_unsafe_char",
]

#: Largest id: the snapshot's id arrays are int64.
ID_MAX = 2**63 - 1
#: Largest like/comment count: the snapshot's count arrays are int32.
COUNT_MAX = 2**31 - 1
#: How far past the importer's clock a time may lie (clock skew between machines).
FUTURE_SLACK = 86_400
#: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the times ISO-8601 (and ``to_iso``) can write.
TIME_MIN = -62_135_596_800
TIME_MAX = 253_402_300_799
CAPTION_MAX = 20_000
DISPLAY_NAME_MAX = 200
HANDLE_MAX = 100
IMAGE_MAX = 2_000
#: Largest magnitude of an interaction value: the snapshot keeps them as float32.
NUMBER_MAX = 3.4e38

_DIGITS = re.compile(r"\s*\+?[0-9]+\s*")
# Bidi embeddings/overrides/isolates/marks and the other invisible characters that reorder or
# hide text. Zero-width joiners (U+200C/D) are left alone: emoji sequences need them.
_BIDI = frozenset(
    [
        0x061C,
        0x200E,
        0x200F,
        0x2028,
        0x2029,
        0xFEFF,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x2070),
        *range(0xFFF9, 0xFFFC),
    ]
)


class BadValue(InputError):
    """A value that breaks a rule of this module; ``str()`` is ``field: problem``.

    >>> str(BadValue("like_count", "out of range"))
    'like_count: out of range'
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def brief(value: Any, limit: int = 40) -> str:
    """A short, escaped rendering of a bad value for an error message (never 10 MB long).

    >>> print(brief("x" * 100))
    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…
    >>> print(brief("a\u202eb"))
    'a\\u202eb'
    """
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]  # repr of a 10 MB string is not built just to be cut
    text = (
        repr(value) if not isinstance(value, int) or value.bit_length() < 200 else "a huge number"
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


_show = brief


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise BadValue(what, f"{_show(value)} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and len(value) <= 100 and _DIGITS.fullmatch(value):
        return int(value)
    if isinstance(value, str) and len(value) <= 100 and re.fullmatch(r"\s*-[0-9]+\s*", value):
        return int(value)  # negative: a range error below says so
    raise BadValue(what, f"{_show(value)} is not an integer")


def check_id(value: Any, what: str) -> int:
    """An id: an integer (or a string of digits) with ``0 <= id < 2**63``.

    >>> check_id(42, "author"), check_id(" 7 ", "post")
    (42, 7)
    >>> check_id(2**63, "post")
    Traceback (most recent call last):
    discovery.store.validate.BadValue: post: 9223372036854775808 is out of range (0 ≤ id < 2**63)
    >>> check_id("-5", "post")
    Traceback (most recent call last):
    discovery.store.validate.BadValue: post: -5 is out of range (0 ≤ id < 2**63)
    """
    number = _integer(value, what)
    if not 0 <= number <= ID_MAX:
        raise BadValue(what, f"{_show(number)} is out of range (0 ≤ id < 2**63)")
    return number


def check_count(value: Any, what: str) -> int:
    """A count (likes, comments): an integer with ``0 <= n <= 2**31 - 1``.

    >>> check_count("12", "like_count")
    12
    >>> check_count(10**30, "like_count")
    Traceback (most recent call last):
    discovery.store.validate.BadValue: like_count: 1000000000000000000000000000000 is out of range (0 ≤ n ≤ 2147483647)
    """
    number = _integer(value, what)
    if not 0 <= number <= COUNT_MAX:
        raise BadValue(what, f"{_show(number)} is out of range (0 ≤ n ≤ {COUNT_MAX})")
    return number


def check_time(ts: Any, what: str, *, now: int, allow_historic: bool = False) -> int:
    """A time in Unix seconds, inside the window the engine accepts.

    From 1970-01-01 (``0``) to one day after ``now`` (the importer's clock). ``allow_historic``
    lowers the floor to year 1 (for archives of old photos); the ceiling stays, since a single
    post far in the future would otherwise become the engine's "now".

    >>> now = 1_704_067_200  # 2024-01-01
    >>> check_time(now + 86_400, "taken_at", now=now)
    1704153600
    >>> check_time(99999999999999, "taken_at", now=now)
    Traceback (most recent call last):
    discovery.store.validate.BadValue: taken_at: 99999999999999 is after 2024-01-02T00:00:00Z (more than a day ahead of now)
    >>> check_time(-1, "taken_at", now=now)
    Traceback (most recent call last):
    discovery.store.validate.BadValue: taken_at: -1 is before 1970-01-01 (use --allow-historic for older data)
    >>> check_time(-1, "taken_at", now=now, allow_historic=True)
    -1
    """
    if isinstance(ts, float) and ts.is_integer():
        ts = int(ts)
    t = _integer(ts, what)
    ceiling = min(now + FUTURE_SLACK, TIME_MAX)
    if t > ceiling:
        raise BadValue(what, f"{_show(t)} is after {_iso(ceiling)} (more than a day ahead of now)")
    if allow_historic:
        if t < TIME_MIN:
            raise BadValue(what, f"{_show(t)} is before year 1")
    elif t < 0:
        raise BadValue(
            what, f"{_show(t)} is before 1970-01-01 (use --allow-historic for older data)"
        )
    return t


def check_number(value: Any, what: str) -> float:
    """A finite number (an interaction's value) that float32 can hold.

    >>> check_number("2.5", "value")
    2.5
    >>> check_number("1e39", "value")
    Traceback (most recent call last):
    discovery.store.validate.BadValue: value: '1e39' is out of range (|v| ≤ 3.4e+38)
    """
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise BadValue(what, f"{brief(value)} is not a number") from None
    if not math.isfinite(number):
        raise BadValue(what, f"{brief(value)} is not a finite number")
    if abs(number) > NUMBER_MAX:
        raise BadValue(what, f"{brief(value)} is out of range (|v| ≤ {NUMBER_MAX:g})")
    return number


def _iso(t: int) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return f"NUL byte at character {value.index(chr(0))}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"lone surrogate at character {exc.start} (not valid UTF-8)"
    return None


def check_text(value: Any, what: str, *, max_chars: int) -> str:
    """Free text (caption, display name): a string without NUL or lone surrogates, length capped.

    >>> check_text("Sunset ride #mtb", "caption", max_chars=CAPTION_MAX)
    'Sunset ride #mtb'
    >>> check_text("a\\x00b", "caption", max_chars=CAPTION_MAX)
    Traceback (most recent call last):
    discovery.store.validate.BadValue: caption: NUL byte at character 1
    >>> check_text("x" * 201, "display_name", max_chars=DISPLAY_NAME_MAX)
    Traceback (most recent call last):
    discovery.store.validate.BadValue: display_name: 201 characters, at most 200
    """
    if not isinstance(value, str):
        raise BadValue(what, f"{_show(value)} is not text")
    if len(value) > max_chars:
        raise BadValue(what, f"{len(value):,} characters, at most {max_chars:,}")
    problem = _text_problem(value)
    if problem:
        raise BadValue(what, problem)
    return value


def is_unsafe_char(ch: str) -> bool:
    """Whether one character must not be shown as is: control (but tab and newline), bidi
    override/isolate/mark, line/paragraph separator, or a lone surrogate.

    >>> [is_unsafe_char(c) for c in "a\\n\\x1b\\u202e\\u200d"]
    [False, False, True, True, False]
    """
    code = ord(ch)
    if code in _BIDI:
        return True
    if ch in "\n\t":
        return False
    category = unicodedata.category(ch)
    return category in ("Cc", "Cs")


def check_handle(value: Any, what: str = "handle") -> str:
    """A handle: 1..100 characters; no white space, control, format (bidi) characters or NUL.

    Any other character is allowed (``/``, ``[``, ``%``, ``?``): routes percent-encode handles,
    and the CLI prints them literally. ``.`` and ``..`` are refused because a URL path cannot
    carry them (clients collapse them as path segments).

    >>> check_handle("ana/photos")
    'ana/photos'
    >>> check_handle("ana bo")
    Traceback (most recent call last):
    discovery.store.validate.BadValue: handle: 'ana bo' contains white space (U+0020)
    >>> check_handle("\\u202egnp.exe")
    Traceback (most recent call last):
    discovery.store.validate.BadValue: handle: '\\u202egnp.exe' contains a control or format character (U+202E)
    """
    if not isinstance(value, str):
        raise BadValue(what, f"{_show(value)} is not text")
    if not value:
        raise BadValue(what, "empty")
    if len(value) > HANDLE_MAX:
        raise BadValue(what, f"{len(value):,} characters, at most {HANDLE_MAX}")
    if value in (".", ".."):
        raise BadValue(what, f"{value!r} cannot be part of a URL")
    for ch in value:
        category = unicodedata.category(ch)
        if ch.isspace() or category in ("Zs", "Zl", "Zp"):
            raise BadValue(what, f"{_show(value)} contains white space (U+{ord(ch):04X})")
        if category in ("Cc", "Cf", "Cs") or ord(ch) in _BIDI:
            raise BadValue(
                what,
                f"{_show(value)} contains a control or format character (U+{ord(ch):04X})",
            )
    return value


def check_url_or_path(value: Any, what: str = "image") -> str:
    """A post image: an ``http(s)://`` URL with a host, or a relative path without ``..``.

    >>> check_url_or_path("img/10.jpg"), check_url_or_path("https://cdn.example/a.jpg")
    ('img/10.jpg', 'https://cdn.example/a.jpg')
    >>> check_url_or_path("../etc/passwd")
    Traceback (most recent call last):
    discovery.store.validate.BadValue: image: '../etc/passwd' leaves the media folder ('..')
    >>> check_url_or_path("javascript:alert(1)")
    Traceback (most recent call last):
    discovery.store.validate.BadValue: image: 'javascript:alert(1)' is neither an http(s) URL nor a relative path
    """
    if not isinstance(value, str):
        raise BadValue(what, f"{_show(value)} is not text")
    if not value:
        raise BadValue(what, "empty")
    if len(value) > IMAGE_MAX:
        raise BadValue(what, f"{len(value):,} characters, at most {IMAGE_MAX:,}")
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs") or ch.isspace():
            raise BadValue(
                what,
                f"{_show(value)} contains white space or a control character (U+{ord(ch):04X})",
            )
    try:
        parts = urlsplit(value)
    except ValueError:
        raise BadValue(what, f"{_show(value)} is not a valid URL") from None
    if parts.scheme:
        if parts.scheme.lower() in ("http", "https") and parts.netloc:
            return value
        raise BadValue(what, f"{_show(value)} is neither an http(s) URL nor a relative path")
    if value.startswith(("/", "\\")) or parts.netloc:
        raise BadValue(
            what, f"{_show(value)} is an absolute path; give it relative to the media folder"
        )
    if ".." in re.split(r"[/\\]", value):
        raise BadValue(what, f"{_show(value)} leaves the media folder ('..')")
    return value


def display_safe(text: str) -> str:
    """``text`` with every unsafe character (:func:`is_unsafe_char`) replaced by its escape.

    The escape is Python's (``\\x1b``, ``\\u202e``): visible, ASCII, and says which character was
    there, so a spoofing attempt is seen rather than silently hidden. Tab and newline are kept;
    zero-width joiners stay (emoji need them). The result contains no unsafe character, so
    applying it twice changes nothing.

    >>> display_safe("liked by @\\u202egnp.exe\\u202c")
    'liked by @\\\\u202egnp.exe\\\\u202c'
    >>> display_safe("a\\x00b\\x1b[31m")
    'a\\\\x00b\\\\x1b[31m'
    >>> display_safe("plain 🌅 text\\n")
    'plain 🌅 text\\n'
    """
    if text.isprintable() and not any(ord(c) in _BIDI for c in text):
        return text  # the common case: nothing to replace (no Cc/Cf/Zl/Zp/Cs at all)
    out = []
    for ch in text:
        if is_unsafe_char(ch):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
