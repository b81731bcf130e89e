"""The load test's event stream (bench/load.py): unlikes withdraw likes the stream sent before,
a stream without them is the one it always was, and a bad share is refused in one line."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parents[1] / "bench"))
from load import make_events, share

HANDLES = [f"u{i}" for i in range(5)]
POSTS = [10, 11, 12]


def test_unlikes_take_back_only_likes_the_stream_sent_before() -> None:
    liked: list[tuple[str, int]] = []
    events = make_events(3_000, HANDLES, POSTS, random.Random(3), "r", [0], (0.05, liked))
    live: dict[tuple[str, int], int] = {}
    unlikes = 0
    for e in events:
        pair = (e["user"], e.get("post"))
        if e["kind"] == "like":
            live[pair] = live.get(pair, 0) + 1
        elif e["kind"] == "unlike":
            assert live.get(pair, 0) > 0, e  # a like sent before, not taken back yet
            live[pair] -= 1
            unlikes += 1
    assert 100 < unlikes < 200  # ~5 % of 3,000
    assert sorted(p for p, n in live.items() for _ in range(n)) == sorted(liked)


def test_without_unlikes_the_stream_is_unchanged() -> None:
    plain = make_events(500, HANDLES, POSTS, random.Random(1), "r", [0])
    again = make_events(500, HANDLES, POSTS, random.Random(1), "r", [0], None)
    assert plain == again and not any(e["kind"] == "unlike" for e in plain)
    assert len({e["id"] for e in plain}) == 500


@pytest.mark.parametrize("text", ["nan", "-0.1", "1.5", "inf", "1e309", "", "0x10", "½"])
def test_a_bad_share_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        share(text)
    assert share("0.005") == 0.005 and share("0") == 0.0 and share("1") == 1.0
