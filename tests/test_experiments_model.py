"""Experiment definitions and assignment: validation with one-line messages, a stored body that
round-trips, and a hash split whose proportions and stability are checked on 10,000 users."""

from __future__ import annotations

import hashlib
import math

import pytest

from discovery.errors import InputError
from discovery.experiments.assign import arm_index, unit_hash
from discovery.experiments.model import Arm, Experiment, new_experiment, parse_arm, parse_split


def test_arms_are_rankers_settings_or_both() -> None:
    assert parse_arm("tutorial") == Arm("tutorial", "tutorial", ())
    assert parse_arm(" window_days=30 ") == Arm(
        "window_days=30", "default", (("window_days", 30.0),)
    )
    both = parse_arm("tutorial+max_per_author=3+alpha=0.9")
    assert (both.ranker, both.overrides()) == ("tutorial", {"alpha": 0.9, "max_per_author": 3})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "arm 'nope': unknown ranker 'nope'; expected one of default, tutorial"),
        ("", "an arm is empty"),
        ("window_days=abc", "arm 'window_days=abc': window_days='abc': expected a float"),
        ("window_days=0", "arm 'window_days=0': window_days=0.0: must be between 0.5 and 36500.0"),
        ("colour=red", "arm 'colour=red': unknown setting 'colour'"),
        ("tutorial+x", "arm 'tutorial+x': 'x': expected NAME=VALUE"),
    ],
)
def test_bad_arms_say_which_and_why_in_one_line(spec: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        parse_arm(spec)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "n", "message"),
    [
        ("60/50", 2, "the shares sum to 110, not 100"),
        ("50/50", 3, "2 shares for 3 arms"),
        ("100/0", 2, "every arm needs a share above 0"),
        ("half/half", 2, "expected whole percentages"),
        ("50.5/49.5", 2, "expected whole percentages"),
    ],
)
def test_bad_splits(text: str, n: int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_split(text, n)


def test_default_split_is_as_even_as_whole_percentages_allow() -> None:
    assert parse_split(None, 2) == (50, 50)
    assert parse_split(None, 3) == (34, 33, 33)
    assert parse_split(None, 7) == (15, 15, 14, 14, 14, 14, 14)


@pytest.mark.parametrize(
    ("name", "arms", "kw", "message"),
    [
        ("Bad Name", ["default", "tutorial"], {}, "experiment name 'Bad Name'"),
        ("-x", ["default", "tutorial"], {}, "experiment name '-x'"),
        ("x" * 65, ["default", "tutorial"], {}, "experiment name"),
        ("e", ["default"], {}, "needs at least two arms, got 1"),
        ("e", ["default", "default"], {}, "arm 'default' is listed twice"),
        ("e", ["default", "tutorial", "alpha=0.9"], {"interleave": True}, "exactly two arms"),
        ("e", ["default", "tutorial"], {"interleave": True, "split": "50/50"}, "takes no split"),
    ],
)
def test_bad_experiments(name: str, arms: list[str], kw: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        new_experiment(name, arms, **kw)


def test_the_stored_body_round_trips() -> None:
    for made in (
        new_experiment("ab", ["default", "tutorial", "window_days=30"], "20/30/50", created_at=5),
        new_experiment("il", ["default", "tutorial+alpha=0.9"], interleave=True, created_at=6),
    ):
        back = Experiment.from_body(made.name, made.body(), made.created_at, None)
        assert back == made
        assert back.to_json()["mode"] == ("interleave" if made.interleave else "ab")


def test_unit_hash_is_the_documented_blake2b() -> None:
    """A reference written from the docstring's formula, not from the code."""
    for exp, account in [("e", 1), ("explore-ranker", 123_456_789), ("x_1", 0)]:
        digest = hashlib.blake2b(f"{exp}:{account}".encode(), digest_size=8).hexdigest()
        assert unit_hash(exp, account) == int(digest, 16) / 2**64


@pytest.mark.parametrize("split", [(50, 50), (20, 30, 50), (1, 99), (34, 33, 33)])
def test_split_proportions_on_ten_thousand_users(split: tuple[int, ...]) -> None:
    n = 10_000
    counts = [0] * len(split)
    for account in range(1, n + 1):
        counts[arm_index("split-test", account, split)] += 1
    for share, count in zip(split, counts, strict=True):
        p = share / 100
        # binomial tolerance: 4 standard deviations (a false alarm about once in 16,000 runs;
        # the hash is fixed, so this either always passes or always fails)
        assert abs(count - n * p) <= 4 * math.sqrt(n * p * (1 - p)), (split, counts)


def test_assignment_is_stable_and_independent_across_experiments() -> None:
    first = [arm_index("a", u, (50, 50)) for u in range(2000)]
    assert first == [arm_index("a", u, (50, 50)) for u in range(2000)]  # same every time
    other = [arm_index("b", u, (50, 50)) for u in range(2000)]
    # another experiment re-splits users: about half agree, not all
    agree = sum(x == y for x, y in zip(first, other, strict=True))
    assert abs(agree - 1000) <= 4 * math.sqrt(2000 * 0.25)
