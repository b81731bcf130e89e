"""Domain vocabulary shared by every layer: kinds, codes, time and hashtag helpers."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

__all__ = [
    "ACCOUNT_KINDS",
    "INTERACTION_KINDS",
    "KIND_CODE",
    "MEDIA_TYPES",
    "POSITIVE_KINDS",
    "extract_hashtags",
    "from_iso",
    "normalize_hashtag",
    "to_iso",
]

ACCOUNT_KINDS = ("person", "brand")
MEDIA_TYPES = ("photo", "video", "carousel")
#: Interaction kinds; the tuple position is the integer code stored in the database.
INTERACTION_KINDS = (
    "like",
    "comment",
    "save",
    "share",
    "click",
    "view",
    "impression",
    "hide",
    "tag",
)
KIND_CODE = {k: i for i, k in enumerate(INTERACTION_KINDS)}
#: Kinds that count as a positive signal in evaluation and interests.
POSITIVE_KINDS = ("like", "comment", "save")

# A hashtag runs until white space, another '#', or punctuation that people put after tags.
_HASHTAG = re.compile(r"#([^\s#.,;:!?()\[\]{}\"'<>]+)")


def normalize_hashtag(tag: str) -> str:
    """Canonical form of a hashtag: NFKC, case-folded, without the leading '#'.

    Variants that people really write (``#Sunsets`` vs ``#sunsets``, full-width letters)
    collapse; different words (``bike`` / ``biking``) stay distinct — semantics come later.

    >>> normalize_hashtag("#SunsetLovers")
    'sunsetlovers'
    >>> normalize_hashtag("🌅")
    '🌅'
    """
    return unicodedata.normalize("NFKC", tag).strip().lstrip("#").strip().casefold()


def extract_hashtags(text: str | None) -> list[tuple[str, str]]:
    """Hashtags in a caption as ``(normalised, original)`` pairs, first occurrence kept.

    Unlike the tutorial's ``#(\\w+)``, emoji tags are kept.

    >>> extract_hashtags("Ride! #MTB #mtb #🌅 #love.")
    [('mtb', 'MTB'), ('🌅', '🌅'), ('love', 'love')]
    """
    if not text:
        return []
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for original in _HASHTAG.findall(text):
        norm = normalize_hashtag(original)
        if norm and norm not in seen:
            seen.add(norm)
            out.append((norm, original))
    return out


def to_iso(ts: int | float) -> str:
    """Unix seconds → ISO-8601 UTC string.

    >>> to_iso(0)
    '1970-01-01T00:00:00Z'
    """
    return dt.datetime.fromtimestamp(int(ts), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> int:
    """ISO-8601 (``Z`` or offset; naive means UTC) → Unix seconds.

    >>> from_iso('1970-01-02T00:00:00Z')
    86400
    """
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())
