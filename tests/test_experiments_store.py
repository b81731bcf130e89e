"""The experiments store module on both backends: experiments come and go, impressions are
logged outside the change counter, and per-user outcomes match a hand-computed log."""

from __future__ import annotations

import pytest

from discovery.store import Store
from discovery.store.experiments import ExperimentConflict, ImpressionRow, UserArmTotals


def _world(store: Store) -> None:
    """ana(1) and bob(2) see posts of cy(3) and dee(4); ana follows cy from t=50, bob follows
    dee only from t=500 (after his impressions at t=100)."""
    with store.transaction():
        store.add_accounts(
            [(i, h, h, "person", 0) for i, h in enumerate(["ana", "bob", "cy", "dee"], 1)]
        )
        store.add_posts([(10, 3, 0, "a", "photo", None, 0, 0), (11, 4, 0, "b", "photo", None, 0, 0),
                         (12, 4, 0, "c", "photo", None, 0, 0)])  # fmt: skip
        store.add_follows([(1, 3, 50), (2, 4, 500)])
        store.add_interactions(
            [
                (1, 10, "save", 90, None),  # before ana's impression: not an outcome
                (1, 10, "like", 150, None),  # in network
                (1, 11, "click", 120, None),  # credit, not an engagement
                (1, 11, "comment", 300, None),  # outside the network
                (2, 12, "like", 50, None),  # before bob's impression
                (2, 11, "like", 150, None),  # outside: bob followed dee only later
                (2, 12, "hide", 160, None),
            ]
        )


def _imp(account: int, post: int, at: int, pos: int, arm: str, exp: str = "e") -> ImpressionRow:
    return ImpressionRow(account, post, at, "explore", pos, "r", exp, arm, "default", 0.5, "{}")


def test_per_user_outcomes_match_a_hand_computed_log(store_url: str) -> None:
    with Store.open(store_url) as store:
        _world(store)
        counter = store.change_counter
        rows = [
            _imp(1, 10, 100, 0, "A"),
            _imp(1, 11, 100, 1, "A"),
            _imp(1, 10, 200, 0, "A"),  # shown again: one more impression, no second outcome
            _imp(2, 11, 100, 0, "B"),
            _imp(2, 12, 100, 1, "B"),
            _imp(1, 12, 100, 0, "A", exp="other"),
            _imp(1, 12, 100, 0, "", exp=""),
        ]
        assert store.log_impressions(rows) == 7
        assert store.change_counter == counter  # bookkeeping: no snapshot catch-up
        assert store.experiment_totals("e") == [
            # impressions, engagements (like 10, comment 11), outside (comment 11), hides,
            # credited (10 liked, 11 clicked)
            UserArmTotals(1, "A", 3, 2, 1, 0, 2),
            UserArmTotals(2, "B", 2, 1, 1, 1, 1),
        ]
        assert store.experiment_totals("nobody") == []
        assert store.impressions(experiment="other") == [rows[5]]
        assert store.impressions(account=2) == rows[3:5]
        assert len(store.impressions()) == 7


def test_experiments_are_created_listed_and_stopped(store_url: str) -> None:
    with Store.open(store_url) as store:
        store.create_experiment("b", '{"arms": []}', created_at=20)
        counter = store.change_counter
        with pytest.raises(ExperimentConflict, match="'b' is running"):
            store.create_experiment("a", '{"arms": [1]}', created_at=10)
        assert store.change_counter == counter and store.experiment("a") is None
        store.create_experiment("a", '{"arms": [1]}', created_at=10, alone=False)
        with pytest.raises(ExperimentConflict, match="already exists"):
            store.create_experiment("a", "{}", created_at=30, alone=False)
        assert [e.name for e in store.experiments()] == ["a", "b"]
        assert store.stop_experiment("a", at=40) is True
        assert store.stop_experiment("a", at=50) is False  # already stopped
        assert store.stop_experiment("zzz") is False
        assert [e.name for e in store.experiments(running=True)] == ["b"]
        a = store.experiment("a")
        assert a is not None and (a.body, a.created_at, a.stopped_at) == ('{"arms": [1]}', 10, 40)
        assert store.experiment("zzz") is None


def test_many_impressions_go_in_chunks(store_url: str) -> None:
    with Store.open(store_url) as store:
        rows = [_imp(1, p, 5, p, "") for p in range(1234)]
        assert store.log_impressions(rows) == 1234
        assert store.impressions() == rows
        assert store.log_impressions([]) == 0


def test_impressions_keep_logging_after_a_copy_to_postgresql(tmp_path, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    """A copy carries impression ids; the identity must move past them (it clashed before)."""
    from discovery.store.copy import copy_store

    with Store.open(tmp_path / "src.db") as src, Store.open(pg_url) as dst:
        src.log_impressions([_imp(1, p, 5, p, "") for p in range(3)])
        copy_store(src, dst)
        assert dst.log_impressions([_imp(2, 9, 6, 0, "")]) == 1
        assert [r.account for r in dst.impressions()] == [1, 1, 1, 2]
