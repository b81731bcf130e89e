"""The value rules of discovery.store.validate: exact windows, and display_safe on any text."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from discovery.errors import InputError
from discovery.store import to_iso
from discovery.store.validate import (
    CAPTION_MAX,
    COUNT_MAX,
    HANDLE_MAX,
    ID_MAX,
    TIME_MAX,
    TIME_MIN,
    BadValue,
    check_count,
    check_handle,
    check_id,
    check_text,
    check_time,
    check_url_or_path,
    display_safe,
)

NOW = 1_704_067_200  # 2024-01-01T00:00:00Z
DAY = 86_400
BIDI = [chr(c) for c in (0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A))]


def test_bad_value_is_an_input_error_naming_the_field() -> None:
    with pytest.raises(InputError) as info:
        check_count(10**30, "like_count")
    assert isinstance(info.value, ValueError)
    assert info.value.field == "like_count"  # type: ignore[attr-defined]
    assert str(info.value).startswith("like_count: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", [0, 1, ID_MAX, "0", "  12 ", str(ID_MAX)])
def test_ids_accepted(value: object) -> None:
    assert check_id(value, "id") == int(str(value))


@pytest.mark.parametrize(
    "value", [-1, ID_MAX + 1, 2**64, 10**30, "-5", "2" * 30, "1e3", "", "x", 1.0, True, None]
)
def test_ids_refused(value: object) -> None:
    with pytest.raises(BadValue, match=r"^post: "):
        check_id(value, "post")


@given(st.integers())
def test_id_window_is_exact(n: int) -> None:
    if 0 <= n < 2**63:
        assert check_id(n, "id") == n
    else:
        with pytest.raises(BadValue):
            check_id(n, "id")


@given(st.integers())
def test_count_window_is_exact(n: int) -> None:
    if 0 <= n <= 2**31 - 1:
        assert check_count(n, "like_count") == n
    else:
        with pytest.raises(BadValue):
            check_count(n, "like_count")
    assert COUNT_MAX == 2**31 - 1


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_time_window_is_exact(t: int) -> None:
    if 0 <= t <= NOW + DAY:
        assert check_time(t, "taken_at", now=NOW) == t
    else:
        with pytest.raises(BadValue):
            check_time(t, "taken_at", now=NOW)


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_historic_window_is_exact_and_formattable(t: int) -> None:
    if TIME_MIN <= t <= NOW + DAY:
        assert check_time(t, "taken_at", now=NOW, allow_historic=True) == t
        assert to_iso(t)  # every accepted time is one the engine can print
    else:
        with pytest.raises(BadValue):
            check_time(t, "taken_at", now=NOW, allow_historic=True)


def test_time_bounds_are_years_1_and_9999() -> None:
    assert dt.datetime.fromtimestamp(TIME_MIN, tz=dt.UTC).isoformat() == "0001-01-01T00:00:00+00:00"
    assert dt.datetime.fromtimestamp(TIME_MAX, tz=dt.UTC).isoformat() == "9999-12-31T23:59:59+00:00"
    # A clock far in the future still cannot let in a time ISO-8601 cannot write.
    with pytest.raises(BadValue):
        check_time(TIME_MAX + 1, "t", now=TIME_MAX + DAY)


@pytest.mark.parametrize(
    ("ts", "message"),
    [
        (99_999_999_999_999, "more than a day ahead"),
        (253_402_214_400, "more than a day ahead"),  # 9999-12-31
        (-86_400, "before 1970-01-01"),
        ("soon", "not an integer"),
    ],
)
def test_times_refused_with_reason(ts: object, message: str) -> None:
    with pytest.raises(BadValue, match=message):
        check_time(ts, "taken_at", now=NOW)


def test_text_rules() -> None:
    assert check_text("", "caption", max_chars=CAPTION_MAX) == ""
    assert check_text("x" * CAPTION_MAX, "caption", max_chars=CAPTION_MAX)
    for bad, message in [
        ("x" * (CAPTION_MAX + 1), "at most 20,000"),
        ("x" * 10_000_000, "10,000,000 characters"),
        ("nul\x00", "NUL byte"),
        ("lone \ud800 surrogate", "lone surrogate"),
        (17, "not text"),
    ]:
        with pytest.raises(BadValue, match=message) as info:
            check_text(bad, "caption", max_chars=CAPTION_MAX)
        assert len(str(info.value)) < 200  # a 10 MB value never ends up in the message


@pytest.mark.parametrize(
    "handle", ["ana", "a/b", "[/]", "[red]boom[/red]", "100%", "a?b#c", "émile", "🌅", "x" * 100]
)
def test_handles_accepted(handle: str) -> None:
    assert check_handle(handle) == handle


@pytest.mark.parametrize(
    "handle",
    [
        "",
        "x" * (HANDLE_MAX + 1),
        "a b",
        "a\tb",
        "a\u00a0b",
        "nul\x00",
        "esc\x1b",
        "\u202egnp.exe",
        "a\u2066b",
        "a\u200fb",
        ".",
        "..",
        "a\ud800",
        17,
    ],
)
def test_handles_refused(handle: object) -> None:
    with pytest.raises(BadValue, match=r"^handle: "):
        check_handle(handle)


@pytest.mark.parametrize(
    "image", ["img/10.jpg", "a b/../c", "http://x.example/a.jpg", "HTTPS://x.example/a?b=1"]
)
def test_images_accepted(image: str) -> None:
    if " " in image:
        with pytest.raises(BadValue):
            check_url_or_path(image)
    else:
        assert check_url_or_path(image) == image


@pytest.mark.parametrize(
    "image",
    [
        "",
        "../secret.jpg",
        "img/../../x.jpg",
        "img\\..\\x.jpg",
        "/etc/passwd",
        "\\\\server\\share",
        "//evil.example/x.jpg",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "http:///nohost",
        "C:\\x.jpg",
        "a\x00.jpg",
        "a\u202e.jpg",
        "x" * 3000,
    ],
)
def test_images_refused(image: str) -> None:
    with pytest.raises(BadValue, match=r"^image: "):
        check_url_or_path(image)


def _unsafe(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return ch in BIDI or ch in "\u2028\u2029" or (cat in ("Cc", "Cs") and ch not in "\n\t")


@given(
    st.text(alphabet=st.characters(codec=None))
    | st.lists(st.sampled_from([*BIDI, "a", "\x00"])).map("".join)
)
def test_display_safe_leaves_no_unsafe_character(text: str) -> None:
    shown = display_safe(text)
    assert not any(_unsafe(c) for c in shown)
    assert display_safe(shown) == shown  # idempotent
    if not any(_unsafe(c) for c in text):
        assert shown == text  # safe text is shown exactly as written


def test_display_safe_spoof_is_visible() -> None:
    assert display_safe("@\u202egnp.exe\u202c") == "@\\u202egnp.exe\\u202c"
    assert display_safe("a\x00b") == "a\\x00b"
    assert display_safe("👨\u200d👩\u200d👧 #family\n") == "👨\u200d👩\u200d👧 #family\n"
