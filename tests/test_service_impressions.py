"""Impressions written off the request path (discovery.service.impressions): the queue writes
everything waiting in one batch, in order; a flush waits for what came before it; a full queue
drops and counts instead of growing; a store error loses one batch, not the writer; shutdown
writes what is queued. Through the API: a feed is answered while the writer is held, its rows
land once the writer is free, and /metrics counts them."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.service import create_app
from discovery.service.impressions import ImpressionQueue
from discovery.store import Store

with warnings.catch_warnings():  # starlette nudges towards httpx2; httpx works
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from worlds import ACCOUNTS

ME = next(account for account, handle in ACCOUNTS.items() if handle == "me")


class Gate:
    """A ``write`` that records each batch and, while closed, holds the writer thread."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.open = threading.Event()
        self.entered = threading.Event()
        self.fail_next = False

    def __call__(self, rows: list[str]) -> None:
        self.entered.set()
        assert self.open.wait(10), "the test never opened the gate"
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("disk I/O error")
        self.batches.append(list(rows))


@pytest.fixture
def gate() -> Iterator[Gate]:
    g = Gate()
    yield g
    g.open.set()  # never leave a writer thread waiting


def test_pages_queued_while_the_writer_is_busy_go_in_one_batch_in_order(gate: Gate) -> None:
    q = ImpressionQueue(gate)  # type: ignore[arg-type]
    assert q.put(["a1", "a2"])  # type: ignore[list-item]
    assert gate.entered.wait(5)  # the writer holds page a and waits at the gate
    for page in (["b1"], ["c1", "c2"], ["d1"]):
        assert q.put(page)  # type: ignore[arg-type]
    assert q.counts() == {"written": 0, "queued": 6, "dropped": 0, "failed": 0}
    gate.open.set()
    assert q.flush(5)
    assert gate.batches == [["a1", "a2"], ["b1", "c1", "c2", "d1"]]
    assert q.counts() == {"written": 6, "queued": 0, "dropped": 0, "failed": 0}


def test_a_batch_is_at_most_max_batch_rows(gate: Gate) -> None:
    q = ImpressionQueue(gate, max_batch=3)  # type: ignore[arg-type]
    q.put(["x"])  # type: ignore[list-item]
    assert gate.entered.wait(5)
    for i in range(4):
        q.put([f"p{i}a", f"p{i}b"])  # type: ignore[list-item]
    gate.open.set()
    assert q.flush(5)
    # whole pages: a batch closes at the first page that reaches the bound
    assert [len(b) for b in gate.batches] == [1, 4, 4]
    assert [r for b in gate.batches for r in b][1:] == [f"p{i}{s}" for i in range(4) for s in "ab"]


def test_flush_waits_for_what_was_queued_before_it(gate: Gate) -> None:
    q = ImpressionQueue(gate)  # type: ignore[arg-type]
    q.put(["a"])  # type: ignore[list-item]
    assert gate.entered.wait(5)
    assert q.flush(0.2) is False  # the writer is held: not written yet
    gate.open.set()
    assert q.flush(5) is True and gate.batches == [["a"]]


def test_a_full_queue_drops_the_newest_pages_counts_them_and_warns_once(
    gate: Gate, caplog: pytest.LogCaptureFixture
) -> None:
    q = ImpressionQueue(gate, max_rows=4)  # type: ignore[arg-type]
    q.put(["a1", "a2"])  # type: ignore[list-item]
    assert gate.entered.wait(5)  # two rows in flight, still counted as queued
    with caplog.at_level(logging.WARNING, logger="discovery.service.impressions"):
        assert q.put(["b1", "b2"])  # type: ignore[list-item]
        assert not q.put(["c1"])  # type: ignore[list-item]
        assert not q.put(["d1", "d2"])  # type: ignore[list-item]
    assert [r.getMessage() for r in caplog.records] == [
        "impression queue full (4 rows waiting): 1 rows dropped so far"
    ]
    gate.open.set()
    assert q.flush(5)
    assert gate.batches == [["a1", "a2"], ["b1", "b2"]]
    assert q.counts() == {"written": 4, "queued": 0, "dropped": 3, "failed": 0}
    assert q.put(["e1"])  # type: ignore[list-item]  # room again
    assert q.flush(5) and gate.batches[-1] == ["e1"]


def test_a_store_error_loses_that_batch_only(gate: Gate, caplog: pytest.LogCaptureFixture) -> None:
    gate.fail_next = True
    q = ImpressionQueue(gate)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="discovery.service.impressions"):
        q.put(["lost"])  # type: ignore[list-item]
        gate.open.set()
        assert q.flush(5)
    assert "1 impressions not logged: disk I/O error" in caplog.text
    q.put(["kept"])  # type: ignore[list-item]
    assert q.flush(5)
    assert gate.batches == [["kept"]]
    assert q.counts() == {"written": 1, "queued": 0, "dropped": 0, "failed": 1}


def test_close_writes_what_is_queued_then_refuses(gate: Gate) -> None:
    q = ImpressionQueue(gate)  # type: ignore[arg-type]
    q.put(["a"])  # type: ignore[list-item]
    assert gate.entered.wait(5)
    q.put(["b"])  # type: ignore[list-item]
    gate.open.set()
    q.close()
    assert gate.batches == [["a"], ["b"]]
    assert not q.put(["late"])  # type: ignore[list-item]
    assert q.flush(1) is True  # nothing left to wait for
    assert q.counts()["dropped"] == 1


# ------------------------------------------------------------------------ API
@pytest.fixture
def db(store_url: str) -> str:
    from worlds import build_known_world

    build_known_world(store_url).close()
    return store_url


def logged(db: str) -> list[int]:
    with Store.open(db) as store:
        return [r.post for r in store.impressions(account=ME)]


def test_a_feed_is_answered_while_the_writer_is_held_and_logged_after(db: str) -> None:
    with TestClient(create_app(db)) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        answered: list[list[int]] = []

        def get() -> None:
            body = client.get("/v1/users/me/feed?kind=explore&limit=3").json()
            answered.append([item["post_id"] for item in body["items"]])

        with service.write_lock:  # an event batch (or the other worker) is writing
            t = threading.Thread(target=get)
            t.start()
            t.join(30)
            assert not t.is_alive(), "the feed waited for the writer"
            assert len(answered[0]) == 3 and logged(db) == []  # served, not yet written
        assert service.impressions.flush(10)
        assert logged(db) == answered[0]
        metrics = client.get("/metrics").text
        assert 'discovery_impression_rows{state="written"} 3.0' in metrics
        assert 'discovery_impression_rows{state="dropped"} 0.0' in metrics


def test_shutdown_writes_the_pages_still_queued(db: str) -> None:
    with TestClient(create_app(db)) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        service.write_lock.acquire()  # the writer cannot write until the server stops
        try:
            body = client.get("/v1/users/me/feed?kind=explore&limit=2").json()
        finally:
            threading.Timer(0.3, service.write_lock.release).start()
    # leaving the client ran the lifespan's shutdown: the queue was written before close
    assert logged(db) == [item["post_id"] for item in body["items"]]


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=12),
        st.floats(allow_nan=True, allow_infinity=True, width=64),
        max_size=8,
    )
)
def test_the_features_json_is_the_same_without_orjson(factors: dict[str, float]) -> None:
    """A base install (no serve extra) writes the features with the standard library: the same
    JSON object (keys sorted, non-finite values null) as orjson writes on a server."""
    import json

    import discovery.experiments.logging as logging_module
    from discovery.ranking.picks import Pick

    pick = Pick(1, 0.5, factors, {})
    fast = logging_module.impression_features(pick)
    held = logging_module._orjson
    logging_module._orjson = None  # type: ignore[assignment]
    try:
        plain = logging_module.impression_features(pick)
    finally:
        logging_module._orjson = held
    assert json.loads(plain) == json.loads(fast)
    assert list(json.loads(plain)) == sorted(factors)


def test_a_server_worker_runs_blas_on_one_thread(db: str) -> None:
    """What each ``serve --workers N`` process builds its app with (app_from_env) leaves BLAS
    on one thread: parallelism is across requests and workers, one per core."""
    pytest.importorskip("threadpoolctl")
    code = (
        "import threadpoolctl, numpy\n"
        "before = [i['num_threads'] for i in threadpoolctl.threadpool_info()"
        " if i['user_api'] == 'blas']\n"
        "from discovery.service.app import app_from_env\n"
        "app_from_env()\n"
        "after = [i['num_threads'] for i in threadpoolctl.threadpool_info()"
        " if i['user_api'] == 'blas']\n"
        "print(before, after)\n"
    )
    env = {**os.environ, "DISCOVERY_SERVE_DB": db, "OPENBLAS_NUM_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split("\n")[-2] == "[2] [1]", out.stdout + out.stderr


def test_ranker_features_are_the_served_factors_without_the_learned_ones(db: str) -> None:
    """``serve --impression-features ranker``: each logged row keeps the serving ranker's
    factors and its ``src_`` flags, with the values the full log writes, and none of the
    learned ranker's features (hydrated per page for ``all``, the default)."""
    pages = {}
    for learned in (True, False):
        with TestClient(create_app(db, learned_features=learned)) as client:
            client.get("/v1/users/me/feed?kind=blend&limit=6")
            assert client.app.state.service.impressions.flush(10)  # type: ignore[attr-defined]
        with Store.open(db) as store:
            rows = store.impressions(account=ME)[-6:]
        pages[learned] = [(r.post, json.loads(r.features)) for r in rows]
    assert [post for post, _ in pages[True]] == [post for post, _ in pages[False]]
    for (_, full), (_, slim) in zip(pages[True], pages[False], strict=True):
        assert {"recency", "interest"} <= slim.keys() and any(k.startswith("src_") for k in slim)
        assert slim == {k: v for k, v in full.items() if k in slim}
        assert {"als_score", "topic_match", "post_like_rate"} <= full.keys() - slim.keys()


@pytest.mark.parametrize("value", ["some", "", "[bold red]x\u202e</b>", "all" * 10_000])
def test_serve_refuses_an_unknown_impression_features_value(db: str, value: str) -> None:
    """One line naming the option, before anything starts; markup is shown, not applied."""
    done = subprocess.run(
        [sys.executable, "-m", "discovery", "--db", db, "serve", "--impression-features", value],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: --impression-features ")
    assert done.stderr.strip().endswith(": expected all or ranker")
    if value.startswith("[bold red]"):
        assert "[bold red]x" in done.stderr
