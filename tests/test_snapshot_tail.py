"""The interaction log's tail grouped by user a chunk at a time (snapshot/state.py
``InteractionTail``): a user's rows equal a plain scan, however the log grew."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.snapshot import load_snapshot, refresh_snapshot, state
from discovery.snapshot.state import InteractionTail
from worlds import NOW, build_known_world


@settings(max_examples=200, deadline=None)
@given(
    users=st.lists(st.integers(0, 5), max_size=60),
    base=st.integers(0, 10),
    chunk=st.integers(1, 7),
    cuts=st.lists(st.integers(0, 60), max_size=5),
)
def test_a_users_tail_rows_equal_a_scan_as_the_log_grows(users, base, chunk, cuts):
    """The log read at growing lengths (chunks sorted at one length stay valid at the next):
    each user's rows from ``base`` on are a scan's, in log order."""
    column = np.array(users, dtype=np.int32)
    base = min(base, len(column))
    tail = InteractionTail(base, chunk)
    for n in [*sorted(min(c, len(column)) for c in cuts if c >= base), len(column)]:
        seen = column[:n]
        for user in range(7):
            want = base + np.flatnonzero(seen[base:] == user)
            assert tail.of(seen, user).tolist() == want.tolist()
    assert all(start >= base and (start - base) % chunk == 0 for start in tail.chunks)


@settings(max_examples=200, deadline=None)
@given(
    users=st.lists(st.integers(0, 5), max_size=60),
    base=st.integers(0, 10),
    chunk=st.integers(1, 7),
    wanted=st.lists(st.integers(0, 6), unique=True, max_size=7),
)
def test_many_users_tail_rows_equal_a_scan(users, base, chunk, wanted):
    """For distinct ``wanted`` users at once: the same (row, owner) pairs as a scan."""
    column = np.array(users, dtype=np.int32)
    base = min(base, len(column))
    want = np.array(wanted, dtype=np.int64)
    rows, owner = InteractionTail(base, chunk).gather(column, want)
    expected = sorted(
        (base + i, wanted.index(int(u))) for i, u in enumerate(column[base:]) if int(u) in wanted
    )
    assert sorted(zip(rows.tolist(), owner.tolist(), strict=True)) == expected


def test_user_interactions_stay_exact_across_sorted_chunks(tmp_path, monkeypatch):
    """Chunks of 2 rows: after catch-ups that fill several, every user's interactions, one by
    one and all at once, equal those of a snapshot loaded from scratch (which indexes them
    all)."""
    monkeypatch.setattr(state, "TAIL_CHUNK", 2)
    store = build_known_world(tmp_path / "w.db")
    snap = load_snapshot(store)
    snap.user_interactions(0)  # the index, at the log as loaded
    rows = [
        (1, 302, "view"),
        (2, 301, "like"),
        (1, 301, "view"),
        (3, 302, "view"),
        (1, 201, "save"),
    ]
    for i, (account, post, kind) in enumerate(rows):
        with store.transaction():
            store.add_interactions([(account, post, kind, NOW + 10 + i, None)])
        refresh_snapshot(store, snap)
        fresh = load_snapshot(store, cache=False)
        for user in range(fresh.n_accounts):
            assert snap.user_interactions(user).tolist() == fresh.user_interactions(user).tolist()
        everyone = np.arange(fresh.n_accounts)[::-1]
        pairs = [
            sorted(zip(*(a.tolist() for a in s.users_interactions(everyone)), strict=True))
            for s in (snap, fresh)
        ]
        assert pairs[0] == pairs[1]
    order, _, tail = snap.derived.get("by_user")
    assert len(order) < len(snap.inter_user) and len(tail.chunks) == 2
