"""Hashtag extraction and normalisation, and the time helpers (hand-written expected values)."""

from __future__ import annotations

import pytest

from discovery.store import extract_hashtags, from_iso, normalize_hashtag, to_iso


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#SunsetLovers", "sunsetlovers"),  # CamelCase folds
        ("SunsetLovers", "sunsetlovers"),
        ("#MTB", "mtb"),
        ("🌅", "🌅"),  # emoji stay as they are
        ("#🌅", "🌅"),
        ("#ＭＴＢ", "mtb"),  # full-width letters (NFKC)
        ("#cafe\u0301", "café"),  # combining accent composes (NFKC)
        ("#Straße", "strasse"),  # case folding, not just lower()
        ("  #Hiking ", "hiking"),  # white space around an imported tag
        ("##double", "double"),
        ("alternative metal", "alternative metal"),  # imported multi-word tags keep their space
        ("#", ""),
        ("", ""),
    ],
)
def test_normalize_hashtag(text: str, expected: str) -> None:
    assert normalize_hashtag(text) == expected


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        (None, []),
        ("", []),
        ("no tags here", []),
        ("Ride! #MTB #mtb #🌅 #love.", [("mtb", "MTB"), ("🌅", "🌅"), ("love", "love")]),
        # punctuation people put after a tag ends it
        (
            "#hiking, #climbing; #ski! #surf? #a:b",
            [
                ("hiking", "hiking"),
                ("climbing", "climbing"),
                ("ski", "ski"),
                ("surf", "surf"),
                ("a", "a"),
            ],
        ),
        ("(#inparens) [#brackets]", [("inparens", "inparens"), ("brackets", "brackets")]),
        ("#don't", [("don", "don")]),
        # tags written without spaces between them
        ("#sunset#beach", [("sunset", "sunset"), ("beach", "beach")]),
        # duplicates: first spelling kept, case and width variants are the same tag
        ("#Sunsets #sunsets #SUNSETS #ｓｕｎｓｅｔｓ", [("sunsets", "Sunsets")]),
        # different words stay different (semantics come later)
        ("#bike #biking #mtb", [("bike", "bike"), ("biking", "biking"), ("mtb", "mtb")]),
        ("#🌅🌅 #🌅", [("🌅🌅", "🌅🌅"), ("🌅", "🌅")]),
        ("#a_b #1 # lonely", [("a_b", "a_b"), ("1", "1")]),
        ("#Straße #STRASSE", [("strasse", "Straße")]),
        ("line\n#next\ttab#x", [("next", "next"), ("x", "x")]),
    ],
)
def test_extract_hashtags(caption: str | None, expected: list[tuple[str, str]]) -> None:
    assert extract_hashtags(caption) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-02", 86_400),  # date only: midnight UTC
        ("1970-01-01T01:00:00", 3_600),  # naive means UTC
        ("1970-01-01T01:00:00+01:00", 0),
        ("2009-04-01T00:00:00Z", 1_238_544_000),
    ],
)
def test_from_iso(text: str, seconds: int) -> None:
    assert from_iso(text) == seconds


def test_to_iso_round_trips() -> None:
    for t in (0, 1_238_544_000, 1_700_000_000):
        assert from_iso(to_iso(t)) == t
    assert to_iso(1_238_544_000) == "2009-04-01T00:00:00Z"
