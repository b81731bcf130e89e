"""Hashtag clusters with and without the tags' name vectors, on generated worlds.

    python bench/tag_clusters.py tiny      # both themes, seed 11; worlds kept under /tmp/tv
    python bench/tag_clusters.py demo

For each theme: generate the world (once), cluster its hashtags by co-occurrence alone, then
embed every hashtag name with all-MiniLM-L6-v2 (``embed_tags``, as ``discovery embed --text``
does) and cluster again; print the clusters, the topics split (a topic's own tags on ≥ 5
posts in more than one cluster), merged (two topics' main clusters the same) and the generic
tags that sit in a topic's cluster.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from discovery.embeddings.encoders import get_encoder
from discovery.embeddings.tags import embed_tags
from discovery.engine import Engine
from discovery.signals.clusters import snapshot_clusters
from discovery.snapshot import load_snapshot
from discovery.store import Store
from discovery.store.model import normalize_hashtag
from discovery.world import generate_world
from discovery.world.themes import THEMES

size = sys.argv[1] if len(sys.argv) > 1 else "tiny"
enc = get_encoder("minilm")
for theme in sorted(THEMES):
    path = Path(f"/tmp/tv/{theme}-{size}.db")
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        generate_world(path, size=size, images=False, seed=11, theme=theme)
    for use_text in (False, True):
        if use_text:
            with Store.open(path, create=False) as store:
                t0 = time.perf_counter()
                n = embed_tags(store, enc, [str(t) for t in load_snapshot(store).tag_name.tolist()])
                print(f"  embedded {n} names in {time.perf_counter() - t0:.1f} s")
        engine = Engine.open(path)
        snap = engine.snapshot
        clusters = snapshot_clusters(snap)
        counts = np.diff(snap.post_tags_matrix().tocsc().indptr)
        topics = THEMES[theme].topics
        owners = Counter(normalize_hashtag(t) for topic in topics for t in set(topic.tags))
        split, label_of, checked = [], {}, 0
        for topic in topics:
            tags = {normalize_hashtag(t) for t in topic.tags if owners[normalize_hashtag(t)] == 1}
            idx = [snap.tag_index(t) for t in tags]
            idx = [i for i in idx if i >= 0 and counts[i] >= 5]
            if len(idx) < 2:
                continue
            checked += len(idx)
            labels = Counter(clusters.cluster_of(np.array(idx)).tolist())
            if len(labels) > 1:
                split.append((topic.name, len(labels)))
            label_of[topic.name] = labels.most_common(1)[0][0]
        inv = Counter(label_of.values())
        merged = [t for t, c in label_of.items() if inv[c] > 1]
        gen = []
        for g in THEMES[theme].generic_tags:
            i = snap.tag_index(normalize_hashtag(g))
            if i >= 0 and int(clusters.cluster_of(i)[0]) in label_of.values():
                gen.append(g)
        print(f"generic joined a topic: {gen}")
        print(
            f"{theme} {size} text={use_text}: {len(topics)} topics, {checked} tags checked, "
            f"{clusters.n_clusters} clusters, split {split}, merged {merged}"
        )
