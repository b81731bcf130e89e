"""A process killed (SIGKILL) in the middle of an import leaves exactly the state before it,
on both backends (a SQLite file; a PostgreSQL server whose client dies mid-transaction).

The child is a real Python process writing through the real Store; it tells the parent when it is
mid-way (a line on a pipe after a few chunks), keeps writing, and is killed without warning.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from discovery.store import Store
from stores import dump

CHILD = textwrap.dedent(
    """
    import sys
    from discovery.store import Store

    store = Store.open(sys.argv[1], create=False)
    if store.dialect == "sqlite":
        # A small page cache makes SQLite spill uncommitted pages to the WAL file early, so the
        # kill really leaves half a transaction on disk for recovery to discard.
        store.conn.execute("PRAGMA cache_size = 20")
    with store.transaction():
        store.set_meta("now", 123)
        for chunk in range(1_000_000):
            base = 1_000 + chunk * 2_000
            store.add_accounts((i, f"k{i}", "", "person", i) for i in range(base, base + 2_000))
            store.add_follows((1, i, i) for i in range(base, base + 2_000))
            store.add_posts(
                (i, 1, i, f"#killed{i % 7} #mtb", "photo", None, 0, 0)
                for i in range(base, base + 2_000)
            )
            # Existing rows change too: counts on a post that was there before.
            store.add_interactions(
                ((i, 1, "like", i, None) for i in range(base, base + 200)), update_counts=True
            )
            store.remove_follows([(2, 1)])
            if chunk == 5:
                print("mid-way", flush=True)
    """
)


@pytest.mark.timeout(120)
def test_sigkill_mid_import_leaves_the_state_before(store_url: str) -> None:
    path = store_url
    sqlite = not path.startswith("postgresql")
    with Store.open(path) as s, s.transaction():
        s.add_accounts([(1, "ana", "", 0, 0), (2, "bo", "", 0, 0)])
        s.add_follows([(2, 1, 5)])
        s.add_posts([(1, 1, 10, "#mtb #sunset", "photo", None, 3, 0)])
        s.add_interactions([(2, 1, "like", 11, None)])
    with Store.open(path) as s:
        before = dump(s)
    if sqlite:
        assert not Path(f"{path}-wal").exists()  # the clean close checkpointed everything

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "mid-way"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    if sqlite:
        wal = Path(f"{path}-wal")
        assert wal.exists() and wal.stat().st_size > 100_000, "the kill left no uncommitted pages"

    with Store.open(path, create=False) as s:
        if sqlite:
            assert s._fetch("PRAGMA integrity_check") == [("ok",)]
        else:  # the server saw the client vanish mid-transaction and rolled it back
            assert s._fetch(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'"
            ) == [(0,)]
        assert s.change_counter == 1
        assert s.get_meta("now") is None
        assert s.count("accounts") == 2
        assert dump(s) == before

    # The file is fully usable afterwards: the same import now runs to the end.
    with Store.open(path) as s:
        with s.transaction():
            s.add_accounts([(3, "cy", "", 0, 0)])
            s.add_posts([(2, 3, 12, "#killed1", "photo", None, 0, 0)])
        assert s.change_counter == 2
        assert s._fetch("SELECT id, tag FROM hashtags ORDER BY id") == [
            (1, "mtb"),
            (2, "sunset"),
            (3, "killed1"),
        ]
