"""``discovery batch candidates --engine ray`` on a real 2-node Ray cluster started on this
machine: the same rows as a local run, also when a worker dies in the middle of the job."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from discovery.batch import run_candidates
from discovery.batch.runner import CRASH_ONCE_ENV
from discovery.ranking.batch import FeedRequest
from discovery.store import Store
from discovery.world import generate_world

# loopback only: Ray otherwise binds its nodes to the machine's network address (read at import)
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray", reason="the batch extra (Ray) is not installed")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A head node and a second node, one CPU each; the crash marker's folder in the
    workers' environment (inherited from this process)."""
    import os

    from ray.cluster_utils import Cluster

    marker_dir = tmp_path_factory.mktemp("crash")

    os.environ[CRASH_ONCE_ENV] = str(marker_dir / "crashed")
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        yield marker_dir
    finally:
        ray.shutdown()
        cluster.shutdown()
        os.environ.pop(CRASH_ONCE_ENV, None)


def _rows(store: Store) -> list[tuple[object, ...]]:
    return [
        (r.account, r.rank, r.post, r.score, r.sources, r.evidence)
        for r in store.precomputed("explore")
    ]


def test_ray_on_two_nodes_writes_what_a_local_run_writes(cluster: Path, tmp_path: Path) -> None:
    path = tmp_path / "tiny.db"
    generate_world(path, size="tiny", images=False, seed=5)
    request = FeedRequest("explore", 20)
    with Store.open(path) as store:
        local = run_candidates(store, request=request, block_size=40)
        want = _rows(store)
        assert local.rows == len(want) > 1000
        nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        assert len(nodes) == 2
        # the first task to start kills its worker (os._exit); Ray retries it
        marker = cluster / "crashed"
        assert not marker.exists()
        remote = run_candidates(store, engine="ray", request=request, block_size=40)
        assert marker.exists(), "no worker died: the retry was not exercised"
        assert remote.blocks == local.blocks and remote.rows == local.rows
        assert _rows(store) == want
        # the lists say which snapshot they were computed at (the local run's write is one
        # change later, so the Ray run saw a later counter)
        assert remote.counter > local.counter
        assert {r.counter for r in store.precomputed("explore")} == {remote.counter}


def test_a_warm_up_builds_what_the_blocks_read(cluster: Path, tmp_path: Path) -> None:
    """The warm-up task (one per CPU, while the driver loads the models) leaves the worker
    holding the snapshot with every derived structure a block of other users reads: the
    block that follows builds none (a world without models)."""
    import dataclasses

    from discovery.batch.candidates import BatchJob, candidate_block
    from discovery.batch.runner import _WORKER_HELD, _held, _remote_warm
    from discovery.settings import Settings
    from discovery.snapshot import load_snapshot

    path = tmp_path / "tiny.db"
    generate_world(path, size="tiny", images=False, seed=7)
    with Store.open(path) as store:
        snap = load_snapshot(store)
    job = BatchJob(FeedRequest("explore", 20), Settings(), snap.counter, 0)
    ref = ray.put(dataclasses.replace(snap))
    assert _remote_warm([ref], job) == os.getpid()  # run here, as a worker runs it
    held = _held(ref)
    assert held is _WORKER_HELD[ref.hex()]  # fetched once, kept
    built = set(held.derived.keys())
    assert {"ppr_index_w1", "hashtag_clusters", "post_stats"} <= built
    lists = candidate_block(held, list(range(10, 60)), job)
    assert len(lists) == 50 and set(held.derived.keys()) == built
    _WORKER_HELD.clear()
