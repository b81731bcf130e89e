"""Team-draft interleaving: hand-computed merges with fixed coins, invariants by hypothesis,
and the sign test on counts whose p-value is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discovery.experiments.interleaving import (
    TEAM_A,
    Preference,
    credit,
    preference_test,
    preferences,
    team_draft,
)
from discovery.seed import rng


@pytest.mark.parametrize(
    ("a", "b", "k", "coins", "items", "teams"),
    [
        # disjoint lists: the coin decides who opens each round
        ([1, 2, 3, 4], [5, 6, 7, 8], 4, [True, True], [1, 5, 2, 6], [0, 1, 0, 1]),
        ([1, 2, 3, 4], [5, 6, 7, 8], 4, [False, False], [5, 1, 6, 2], [1, 0, 1, 0]),
        ([1, 2, 3, 4], [5, 6, 7, 8], 4, [True, False], [1, 5, 6, 2], [0, 1, 1, 0]),
        # B's first choice was taken by A: B takes its next one
        ([1, 2, 3], [1, 4, 5], 3, [True, True], [1, 4, 2], [0, 1, 0]),
        # overlap both ways; the last round's coin picks the team of the shared item 3
        ([1, 2, 3], [2, 1, 3], 3, [False, True], [2, 1, 3], [1, 0, 0]),
        ([1, 2, 3], [2, 1, 3], 3, [False, False], [2, 1, 3], [1, 0, 1]),
        # a has nothing left to give: merging stops (the paper's loop condition)
        ([1], [2, 3, 4], 4, [True], [1], [0]),
        # k shorter than the lists, duplicates inside a list counted once
        ([1, 1, 2], [3, 3, 4], 3, [True, True], [1, 3, 2], [0, 1, 0]),
        ([1, 2], [3, 4], 0, [], [], []),
    ],
)
def test_team_draft_by_hand(a, b, k, coins, items, teams) -> None:
    assert team_draft(a, b, k, iter(coins)) == (items, teams)


def test_team_draft_draws_a_coin_only_when_teams_are_level() -> None:
    coins = iter([True, False, True])
    team_draft([1, 2, 3, 4], [5, 6, 7, 8], 4, coins)
    assert list(coins) == [True]  # two rounds, two coins: the third is left


def test_team_draft_with_a_generator_is_deterministic_and_fair() -> None:
    first = [team_draft([1, 2], [3, 4], 2, g)[1][0] for g in [rng(5)] * 2000]
    again = [team_draft([1, 2], [3, 4], 2, g)[1][0] for g in [rng(5)] * 2000]
    assert first == again
    # A opens about half the time: within 4 standard deviations of 1000 of 2000
    assert abs(first.count(TEAM_A) - 1000) < 4 * math.sqrt(2000 * 0.25)


rankings = st.lists(st.integers(0, 30), max_size=25)


@given(rankings, rankings, st.integers(0, 30), st.lists(st.booleans(), min_size=31, max_size=31))
def test_team_draft_invariants(a, b, k, coins) -> None:
    items, teams = team_draft(a, b, k, iter(coins))
    assert len(items) == len(teams) <= k
    assert len(set(items)) == len(items)
    size = [0, 0]
    for i, (item, team) in enumerate(zip(items, teams, strict=True)):
        size[team] += 1
        assert abs(size[0] - size[1]) <= 1
        own = a if team == TEAM_A else b
        # the team's highest-ranked item not yet merged
        assert item == next(x for x in own if x not in items[:i])
    da, db = list(dict.fromkeys(a)), list(dict.fromkeys(b))
    if len(da) >= k and len(db) >= k:
        assert len(items) == k


def test_credit_counts_engagements_per_team() -> None:
    assert credit([0, 1, 1, 0, 1], [True, True, False, False, True]) == (1, 2)
    with pytest.raises(ValueError):
        credit([0, 1], [True])


def test_preferences_aggregate_per_user_then_count() -> None:
    users = [1, 1, 1, 2, 2, 3, 3, 4]
    teams = [0, 1, 0, 1, 1, 0, 1, 0]
    engaged = [True, True, True, True, False, True, True, False]
    # user 1: A 2 vs B 1 (win); user 2: B 1 (loss); user 3: 1 vs 1 (tie); user 4: 0 vs 0 (tie)
    assert preferences(users, teams, engaged) == Preference(1, 1, 2)
    assert preferences([], [], []) == Preference(0, 0, 0)


@pytest.mark.parametrize(
    ("wins", "losses", "p"),
    [
        (9, 1, 2 * (1 + 10) / 2**10),
        (1, 9, 2 * (1 + 10) / 2**10),
        (0, 6, 2 / 2**6),
        (5, 5, 1.0),
        (0, 0, 1.0),
        (15, 5, 2 * sum(math.comb(20, i) for i in range(6)) / 2**20),
    ],
)
def test_preference_test_is_the_two_sided_sign_test(wins, losses, p) -> None:
    assert preference_test(wins, losses) == pytest.approx(p, rel=1e-12)
    assert Preference(wins, losses, 3).p_value == pytest.approx(p, rel=1e-12)


def test_preference_delta_and_bad_counts() -> None:
    assert Preference(6, 2, 2).delta == pytest.approx(0.4)
    assert Preference(0, 0, 0).delta == 0.0
    with pytest.raises(ValueError):
        preference_test(-1, 3)


def test_a_better_ranker_wins_interleaving() -> None:
    """A world with a known answer: users engage only with even posts; A ranks the evens
    first, B the odds. A must win nearly every user, with a tiny p-value."""
    g = rng(3)
    a = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]
    b = [1, 3, 5, 7, 9, 0, 2, 4, 6, 8]
    users, teams, engaged = [], [], []
    for user in range(40):
        items, team = team_draft(a, b, 6, g)
        users += [user] * len(items)
        teams += team
        engaged += [item % 2 == 0 for item in items]
    pref = preferences(np.array(users), np.array(teams), np.array(engaged))
    assert pref == Preference(40, 0, 0)
    assert pref.p_value == pytest.approx(2 / 2**40)
