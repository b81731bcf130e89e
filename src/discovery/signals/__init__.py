"""Learned signals: hashtag clusters, collaborative filtering (ALS) and a learned ranker.

Each module holds the math as pure functions over snapshot arrays and a small typed result:
:mod:`.clusters` (hashtag variants grouped into interests), :mod:`.als` (implicit-feedback
matrix factorisation, saved as a versioned artifact keyed by external keys),
:mod:`.features` (the features a learned ranker reads, hydrated apart from scoring) and
:mod:`.learned` (LightGBM trained on served impressions and what followed them). Heavy
libraries (``implicit``, ``lightgbm``) are imported inside the functions that need them.
"""

from __future__ import annotations

from .clusters import TagClusters, build_clusters, snapshot_clusters, tag_clusters

__all__ = ["TagClusters", "build_clusters", "snapshot_clusters", "tag_clusters"]
