"""The pure batch path: ``recommend_batch`` equals ``Engine.feed`` item for item, and reads no
store (it is handed the snapshot and the users' saved preferences)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discovery import Engine
from discovery.errors import InputError
from discovery.ranking.batch import FeedRequest, UserPrefs, recommend_batch
from discovery.world import generate_world


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "tiny.db"
    generate_world(path, size="tiny", images=False, seed=7)
    return path


def _feed_ids(engine: Engine, user: int, request: FeedRequest) -> list[tuple[int, float]]:
    feed = engine.feed(user, k=request.k, kind=request.kind, ranker=request.ranker)
    return [(item.post_id, round(item.score, 9)) for item in feed.items]


@pytest.mark.parametrize(
    "request_",
    [
        FeedRequest("explore", 20),
        FeedRequest("blend", 15),
        FeedRequest("timeline", 10),
        FeedRequest("blend", 12, ranker="tutorial"),
    ],
    ids=lambda r: f"{r.kind}-{r.ranker}",
)
def test_batch_equals_engine_feed_item_for_item(tiny: Path, request_: FeedRequest) -> None:
    engine = Engine.open(tiny)
    users = list(range(0, engine.snapshot.n_accounts, 7))
    # one user with saved weights and a blocked author: the batch gets them as prefs
    with engine.store.transaction():
        blocked = str(engine.snapshot.handle[users[1] + 1])
        engine.store.save_user_settings(
            int(engine.snapshot.account_id[users[1]]),
            {"weights": {"w_affinity": 1.0}, "blocked": [blocked]},
        )
    engine.refresh()
    prefs = {u: engine.prefs(u) for u in users}
    assert prefs[users[1]] == UserPrefs({"w_affinity": 1.0}, (blocked,))
    engine.store.close()  # the batch must not need it

    batch = recommend_batch(engine.snapshot, users, engine.settings, prefs, request_)
    engine = Engine.open(tiny)
    for user, picks in zip(users, batch, strict=True):
        ids = [(int(engine.snapshot.post_id[p.post]), round(p.score, 9)) for p in picks]
        assert ids == _feed_ids(engine, user, request_), user
    assert sum(len(p) for p in batch) > len(users)  # the feeds are not trivially empty
    blocked_idx = engine.snapshot.account_index(blocked)
    assert all(engine.snapshot.post_author[p.post] != blocked_idx for p in batch[1])


def test_saved_weights_change_the_batch_feed(tiny: Path) -> None:
    engine = Engine.open(tiny)
    users = list(range(20))
    plain = recommend_batch(engine.snapshot, users, engine.settings, {}, FeedRequest("explore", 10))
    heavy = {u: UserPrefs({"w_affinity": 0.0, "w_interest": 1.0}) for u in users}
    tuned = recommend_batch(
        engine.snapshot, users, engine.settings, heavy, FeedRequest("explore", 10)
    )
    assert [[p.post for p in f] for f in plain] != [[p.post for p in f] for f in tuned]
    assert np.isclose(sum(len(f) for f in plain), sum(len(f) for f in tuned), rtol=0.5)


def test_a_bad_request_is_an_input_error(tiny: Path) -> None:
    engine = Engine.open(tiny)
    for bad in (FeedRequest("nope"), FeedRequest(k=0), FeedRequest(mix="zigzag")):
        with pytest.raises(InputError):
            recommend_batch(engine.snapshot, [0], engine.settings, {}, bad)
