"""``discovery batch candidates``: every user's candidate list, locally or on a Ray cluster.

The snapshot is loaded once by the driver. Locally, blocks of users run one after the other in
this process. On Ray, the snapshot (its numpy arrays, without derived structures) is put in the
object store once; each task receives a reference to it, and each worker process deserialises
it once (numpy arrays are read zero-copy from the shared object store) and keeps it, with the
derived structures and numba kernels it builds, for every later block it runs. Those
structures are built first, by one warm-up task per CPU submitted before the driver loads the
models (each takes ~15 s on the large world, and so does loading the ALS model), so the two
overlap instead of following each other. A task whose
worker dies is retried by Ray (``max_retries``); since a block is a pure function of the
snapshot and the users' preferences, the retried output is identical.

Rows are written block by block, in block order, into the store (one transaction: the
previous lists of the same users and kind are replaced, or all stay as they were) and, with
``out``, into one Parquet file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import InputError
from ..ranking.batch import FeedRequest, UserPrefs
from ..settings import Settings
from ..snapshot import Snapshot, load_snapshot
from ..store import Store
from ..store.precomputed import CandidateList
from .candidates import BatchJob, candidate_block, user_blocks

__all__ = ["BatchSummary", "run_candidates", "write_parquet"]

Progress = Callable[[int, int], None]

#: Fault injection for the retry test: a worker whose environment names a file that does not
#: exist yet creates it and dies (``os._exit``) before computing its block, once per file.
CRASH_ONCE_ENV = "DISCOVERY_BATCH_CRASH_ONCE"


@dataclass
class BatchSummary:
    """What a run did: users and rows written, blocks, engine, workers and wall time."""

    users: int
    rows: int
    blocks: int
    engine: str
    workers: int
    seconds: float
    counter: int
    out: str | None = None
    per_block: list[int] = field(default_factory=list)


def _bare(snap: Snapshot) -> Snapshot:
    """The snapshot's arrays without derived structures or growth buffers (a
    :func:`dataclasses.replace` copy starts with none): what goes to the object store."""
    return dataclasses.replace(snap)


# ------------------------------------------------------------------ ray
#: What a worker process holds across tasks: objects by reference (the run's snapshot and
#: artifacts), dropped when a task of another snapshot arrives.
_WORKER_HELD: dict[str, Any] = {}


def _held(ref: Any, snapshot: bool = False) -> Any:
    """The object behind ``ref``, fetched once per worker process (numpy arrays read
    zero-copy from the node's object store)."""
    import ray

    key = ref.hex()
    if key not in _WORKER_HELD:
        if snapshot:
            _WORKER_HELD.clear()  # a new run: drop the previous snapshot and models
        _WORKER_HELD[key] = ray.get(ref)
    return _WORKER_HELD[key]


def _remote_warm(box: list[Any], job: BatchJob) -> int:
    """A Ray task's body: build the snapshot's derived structures (indexes, the follow graph's
    push state, hashtag clusters: ~15 s on the large world) by computing the list of the
    account with the most interactions (the one most likely to reach every structure, as
    ``serve``'s warm-up picks it) without models, and keep them for the blocks this worker
    runs next. The driver submits one per CPU before it loads the models (~15 s on the large
    world too), so the two overlap; the list is thrown away (the models change it). The
    worker's process id."""
    snap = _held(box[0], snapshot=True)
    if snap.n_accounts:
        counts = np.bincount(snap.inter_user, minlength=snap.n_accounts)
        candidate_block(snap, [int(np.argmax(counts))], job)
    return os.getpid()


def _remote_block(
    box: list[Any], users: list[int], job: BatchJob, prefs: dict[int, UserPrefs]
) -> list[CandidateList]:
    """A Ray task's body. ``box`` holds the object references of the snapshot and of the
    artifacts inside a list, so that Ray hands them over unresolved and the worker resolves
    them once (kept per process)."""
    crash = os.environ.get(CRASH_ONCE_ENV)
    if crash and not Path(crash).exists():
        Path(crash).write_text(str(os.getpid()))
        os._exit(1)
    snap_ref, artifacts_ref = box
    snap = _held(snap_ref, snapshot=True)
    return candidate_block(snap, users, job, prefs, _held(artifacts_ref))


def _ray_blocks(
    snap: Snapshot,
    blocks: Sequence[list[int]],
    job: BatchJob,
    prefs: Mapping[int, UserPrefs],
    artifacts: Callable[[], Mapping[str, Any]],
    address: str | None,
    workers: int | None,
) -> Iterator[list[CandidateList]]:
    from .jobs import RayOptions, start_ray

    ray, started = start_ray(RayOptions(address, workers))
    try:
        snap_ref = ray.put(_bare(snap))
        if blocks:  # every CPU builds the snapshot's structures while the models load here
            warm = ray.remote(num_cpus=1, max_retries=3)(_remote_warm)
            cpus = max(int(ray.cluster_resources().get("CPU", 1)), 1)
            for _ in range(cpus):
                warm.remote([snap_ref], job)
        box = [snap_ref, ray.put(dict(artifacts()))]
        task = ray.remote(num_cpus=1, max_retries=3)(_remote_block)
        refs = deque(
            task.remote(box, block, job, {u: prefs[u] for u in block if u in prefs})
            for block in blocks
        )
        while refs:  # in block order, so the output does not depend on scheduling
            yield ray.get(refs.popleft())  # a block's rows leave the object store once read
        # the warm-ups' results are never read: they only save the blocks work, so one that
        # failed fails nothing (its worker's first block builds what it would have)
    finally:
        if started:
            ray.shutdown()


def _local_blocks(
    snap: Snapshot,
    blocks: Sequence[list[int]],
    job: BatchJob,
    prefs: Mapping[int, UserPrefs],
    artifacts: Mapping[str, Any],
) -> Iterator[list[CandidateList]]:
    for block in blocks:
        yield candidate_block(snap, block, job, prefs, artifacts)


def batch_artifacts(store: Store) -> dict[str, Any]:
    """What an engine opened on ``store`` ranks with: the newest ALS model and learned ranker
    (:func:`~discovery.signals.loading.load_artifacts`) and the stored post vectors (the
    ``embedding`` source), so the lists hold what the served feed would."""
    from ..embeddings.similar import VectorCache
    from ..signals.loading import load_artifacts

    out = load_artifacts(store)
    vectors = VectorCache().refresh(store)
    if vectors:
        out["vectors"] = vectors
    return out


# ------------------------------------------------------------- driver
def _select_users(store: Store, snap: Snapshot, users: Sequence[str] | None) -> list[int]:
    if users is None:
        return list(range(snap.n_accounts))
    out: list[int] = []
    unknown: list[str] = []
    for handle in users:
        idx = snap.account_index(handle)
        if idx >= 0:
            out.append(idx)
        else:
            unknown.append(handle)
    if unknown:
        more = f" and {len(unknown) - 1} more" if len(unknown) > 1 else ""
        raise InputError(f"no account with handle {unknown[0]!r}{more}")
    return sorted(set(out))


def run_candidates(
    store: Store,
    *,
    engine: Literal["local", "ray"] = "local",
    address: str | None = None,
    workers: int | None = None,
    users: Sequence[str] | None = None,
    request: FeedRequest | None = None,
    settings: Settings | None = None,
    block_size: int = 200,
    out: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> BatchSummary:
    """Compute and store the candidate lists of ``users`` (handles; all accounts when None).

    Parameters
    ----------
    engine : ``local`` runs the blocks here; ``ray`` on a Ray cluster — a local one with
        ``workers`` CPUs, or the one at ``address`` (``ray://…`` or ``host:port``).
    request : the feed kind, ``k`` (list length) and ranker; explore, 200, default by default.
    out : also write the rows to this Parquet file (one row per user and candidate).
    """
    if engine not in ("local", "ray"):
        raise InputError(f"unknown engine {engine!r}; expected local or ray")
    request = request or FeedRequest("explore", 200)
    request.check()
    settings = settings or Settings()
    started = time.perf_counter()
    snap = load_snapshot(store)
    chosen = _select_users(store, snap, users)
    saved = store.all_user_settings()
    prefs = {
        u: UserPrefs.from_saved(saved[a]) for u in chosen if (a := int(snap.account_id[u])) in saved
    }
    job = BatchJob(request, settings, snap.counter, int(time.time()))
    blocks = user_blocks(chosen, block_size)
    if engine == "ray":  # the models are loaded while the workers warm up
        stream = _ray_blocks(
            snap, blocks, job, prefs, lambda: batch_artifacts(store), address, workers
        )
    else:
        stream = _local_blocks(snap, blocks, job, prefs, batch_artifacts(store))
    summary = BatchSummary(len(chosen), 0, len(blocks), engine, workers or 1, 0.0, snap.counter)
    writer = _ParquetSink(out) if out is not None else None
    ok = False
    try:
        with store.transaction():
            done = 0
            for block, lists in zip(blocks, stream, strict=True):
                accounts = [int(snap.account_id[u]) for u in block]
                written = store.replace_precomputed(request.kind, accounts, lists)
                summary.rows += written
                summary.per_block.append(written)
                if writer is not None:
                    writer.write(lists)
                done += len(block)
                if progress is not None:
                    progress(done, len(chosen))
        ok = True
    finally:
        if writer is not None:
            writer.close(ok)
    summary.out = None if out is None else str(out)
    summary.seconds = time.perf_counter() - started
    return summary


class _ParquetSink:
    """Rows appended to one Parquet file, block by block (pyarrow's ParquetWriter)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover - the extra is part of dev
            raise InputError("--out needs pyarrow: pip install 'discovery-engine[batch]'") from exc
        self._pa, self._pq = pa, pq
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(self.path.name + ".tmp")
        self._schema = pa.schema(
            [
                ("account", pa.int64()),
                ("kind", pa.string()),
                ("rank", pa.int32()),
                ("post", pa.int64()),
                ("score", pa.float64()),
                ("sources", pa.list_(pa.string())),
                ("evidence", pa.string()),
                ("counter", pa.int64()),
                ("computed_at", pa.int64()),
            ]
        )
        self._writer = pq.ParquetWriter(self._tmp, self._schema)

    def write(self, lists: Sequence[CandidateList]) -> None:
        pa = self._pa
        sizes = [len(lst) for lst in lists]
        if not sum(sizes):
            return
        columns = {
            "account": np.repeat([lst.account for lst in lists], sizes),
            "kind": pa.array([lst.kind for lst in lists for _ in range(len(lst))], pa.string()),
            "rank": np.concatenate([np.arange(n, dtype=np.int32) for n in sizes]),
            "post": np.concatenate([lst.posts for lst in lists]),
            "score": np.concatenate([lst.scores for lst in lists]),
            "sources": [list(src) for lst in lists for src in lst.sources],
            "evidence": [json.dumps(ev, sort_keys=True) for lst in lists for ev in lst.evidence],
            "counter": np.repeat([lst.counter for lst in lists], sizes),
            "computed_at": np.repeat([lst.computed_at for lst in lists], sizes),
        }
        self._writer.write_table(pa.Table.from_pydict(columns, schema=self._schema))

    def close(self, ok: bool = True) -> None:
        """Finish the file; a run that failed (``ok`` false) leaves no half-written file."""
        self._writer.close()
        if ok:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)


def write_parquet(lists: Sequence[CandidateList], path: str | os.PathLike[str]) -> None:
    """All ``lists`` to one Parquet file, one row per user and candidate (what ``--out``
    writes)."""
    sink = _ParquetSink(path)
    sink.write(lists)
    sink.close()
