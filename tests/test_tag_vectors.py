"""Hashtag name vectors: stored incrementally, loaded by the engine, used by the clusters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from discovery.cli import app
from discovery.embeddings.encoders import FakeEncoder
from discovery.embeddings.tags import TagVectors, embed_tags, load_tag_vectors
from discovery.engine import Engine
from discovery.signals.clusters import snapshot_clusters, use_tag_vectors
from discovery.snapshot import load_snapshot
from discovery.store import Store
from worlds import NOW, build_known_world

H = 3600
#: Two pairs of tags, each pair always together on 5 posts and never with the other pair:
#: co-occurrence alone makes two clusters {sushi, nigiri} and {sashimi, maki}. A specific tag
#: needs a partner 6× likelier than chance (``min_lift``): 15 filler posts make N large enough.
PAIRS = [("sushi", "nigiri"), ("sashimi", "maki")]
EXTRA = (
    [
        (900 + 10 * i + j, 7, NOW - (j + 1) * H, f"Dinner #{a} #{b}", 1, 0)
        for i, (a, b) in enumerate(PAIRS)
        for j in range(5)
    ]
    + [(990, 7, NOW - 9 * H, "Omakase #🍣", 1, 0)]
    + [
        # filler: more tagged posts, so each pair is 5 / N·5·5 ≥ 6 times likelier than chance
        (1000 + j, 3, NOW - (j + 10) * H, "Plate #dinner", 0, 0)
        for j in range(15)
    ]
)


class Same:
    """A text 'model' that gives every name the same vector: all names say the same thing."""

    name, kind, dim = "same@1", "text", 4

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, items: list[str]) -> np.ndarray:
        self.calls.append(list(items))
        return np.tile(np.array([[1.0, 0.0, 0.0, 0.0]], np.float32), (len(items), 1))


def _world(tmp_path: Path) -> Path:
    path = tmp_path / "sushi.db"
    build_known_world(path, EXTRA).close()
    return path


def _cluster_ids(engine_or_snap: object, names: list[str]) -> list[int]:
    snap = getattr(engine_or_snap, "snapshot", engine_or_snap)
    clusters = snapshot_clusters(snap)  # type: ignore[arg-type]
    return [int(clusters.cluster_of(snap.tag_index(n))[0]) for n in names]  # type: ignore[attr-defined]


def test_names_join_tags_that_never_meet(tmp_path: Path) -> None:
    path = _world(tmp_path)
    with Store.open(path, create=False) as store:
        snap = load_snapshot(store, cache=False)
    alone = _cluster_ids(snap, ["sushi", "nigiri", "sashimi", "maki"])
    assert alone[0] == alone[1] and alone[2] == alone[3] and alone[0] != alone[2]
    # every name the same vector: sim = 0.5·cos_PPMI + 0.5·1 ≥ 0.5 for each pair, above 0.3
    names = np.array(["sushi", "nigiri", "sashimi", "maki"])
    same = TagVectors("same@1", names, np.tile(np.float16([1, 0, 0, 0]), (4, 1)))
    use_tag_vectors(snap, same)
    assert len(set(_cluster_ids(snap, list(names)))) == 1
    use_tag_vectors(snap, same)  # the same vectors again: the clusters are kept
    assert "hashtag_clusters" in snap.derived
    use_tag_vectors(snap, None)  # and without them, the two clusters are back
    assert _cluster_ids(snap, list(names)) == alone


def test_embed_tags_is_incremental_and_skips_emoji(tmp_path: Path) -> None:
    path = _world(tmp_path)
    enc = Same()
    with Store.open(path, create=False) as store:
        assert embed_tags(store, enc, ["sushi", "🍣", "nigiri"]) == 2
        assert enc.calls == [["nigiri", "sushi"]]  # sorted; the emoji name has no vector
        assert embed_tags(store, enc, ["sushi", "maki", "nigiri"]) == 1
        assert enc.calls[-1] == ["maki"]
        assert embed_tags(store, enc, ["sushi", "maki"]) == 0  # nothing new: no new version
        held = load_tag_vectors(store)
        assert held is not None and held.model == "same@1" and held.version == 2
        assert sorted(held.names.tolist()) == ["maki", "nigiri", "sushi"]
        rows = held.rows(["maki", "🍣", "unknown"])
        assert rows[0].tolist() == [1, 0, 0, 0] and not rows[1:].any()
        # another model's vectors replace these, never mix with them
        assert embed_tags(store, FakeEncoder("text", dim=8), ["sushi"]) == 1
        other = load_tag_vectors(store)
        assert other is not None and other.names.tolist() == ["sushi"]
        assert sorted(a.version for a in store.artifact_versions("tag_vectors")) == [2, 3]


def test_the_engine_and_the_batch_path_cluster_with_the_stored_vectors(tmp_path: Path) -> None:
    from discovery.ranking.batch import recommend_batch
    from discovery.settings import Settings
    from discovery.signals.loading import load_artifacts

    path = _world(tmp_path)
    names = ["sushi", "nigiri", "sashimi", "maki"]
    with Store.open(path, create=False) as store:
        embed_tags(store, Same(), names)
        artifacts = load_artifacts(store)
        snap = load_snapshot(store, cache=False)
    assert len(set(_cluster_ids(Engine.open(path), names))) == 1
    recommend_batch(snap, [0], Settings(), artifacts=artifacts)
    assert len(set(_cluster_ids(snap, names))) == 1


def test_cli_embed_text_embeds_the_names(tmp_path: Path) -> None:
    path = _world(tmp_path)
    runner = CliRunner()
    out = runner.invoke(app, ["--db", str(path), "embed", "--text", "--model", "fake-text"])
    assert out.exit_code == 0, out.output
    with Store.open(path, create=False) as store:
        tags = [str(t) for t in load_snapshot(store).tag_name.tolist()]
        held = load_tag_vectors(store)
    wordy = sorted(t for t in tags if t != "🍣")
    assert held is not None and sorted(held.names.tolist()) == wordy
    assert (
        f"{len(wordy)} new hashtag names embedded ({len(wordy)} with a vector of {len(tags)})"
        in (" ".join(out.output.split()))
    )
    again = runner.invoke(app, ["--db", str(path), "embed", "--text", "--model", "fake-text"])
    assert "0 new hashtag names embedded" in " ".join(again.output.split())


def test_a_damaged_artifact_is_ignored_not_trusted(tmp_path: Path) -> None:
    """Another writer's bytes under the name: the engine opens and clusters by co-occurrence."""
    path = _world(tmp_path)
    raw = np.zeros((2, 3), np.float16).tobytes()
    bad_vectors = np.array([[np.inf, 0.0]], np.float16)
    import io

    buf = io.BytesIO()
    np.save(buf, bad_vectors)
    with Store.open(path, create=False) as store:
        for data, meta in [
            (b"not an npy file", {"tags": ["sushi"]}),
            (raw, {"tags": ["sushi", "maki"]}),  # raw bytes, no npy header
            (buf.getvalue(), {"tags": ["sushi"]}),  # not finite
            (buf.getvalue(), {"tags": "sushi"}),  # names not a list: lengths disagree
        ]:
            store.save_artifact("tag_vectors", data, meta)
            assert load_tag_vectors(store) is None
    engine = Engine.open(path)
    assert "hashtag_text" not in engine.snapshot.derived
    alone = _cluster_ids(engine, ["sushi", "nigiri", "sashimi", "maki"])
    assert alone[0] == alone[1] != alone[2] == alone[3]


def test_hashtag_names_on_both_backends(store_url: str) -> None:
    """The names ``embed --text`` reads, straight from the store: those of the snapshot."""
    with Store.open(store_url) as store:
        with store.transaction():
            store.set_meta("now", NOW)
            store.add_accounts([(7, "dan", "Dan", "person", NOW - 10 * H)])
            store.add_posts(
                (pid, a, t, cap, "photo", None, likes, comments)
                for pid, a, t, cap, likes, comments in EXTRA
            )
        names = store.hashtag_names()
        snap_names = [str(t) for t in load_snapshot(store, cache=False).tag_name.tolist()]
    assert names == snap_names
    assert sorted(names) == ["dinner", "maki", "nigiri", "sashimi", "sushi", "🍣"]
