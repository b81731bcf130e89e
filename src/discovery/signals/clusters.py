"""Hashtag clusters: variants and synonyms of one interest grouped by how they are used.

``#climbing``, ``#rockclimbing``, ``#climber`` and ``#🧗`` are four tags for one interest. Two
tags belong together when they keep the same company: each tag is described by its positive
pointwise mutual information (PPMI) with every other tag over posts,

``PPMI(a, b) = max(0, ln(n_ab · N / (n_a · n_b)))``, ``a = b`` included

(Church & Hanks, "Word association norms, mutual information, and lexicography", 1990;
``n_ab`` posts carry both tags, ``n_a`` carry ``a``, ``N`` posts carry any tag), and two tags
are as similar as the cosine of their PPMI rows — second-order co-occurrence, so two variants
that rarely appear *together* still match through the tags they share (Levy, Goldberg & Dagan,
"Improving distributional similarity with lessons learned from word embeddings", TACL 2015).
Emoji tags need nothing special: ``#🧗`` keeps climbing's company. When text-embedding vectors
of the tags are given, the similarity is ``(1 - β)·cos_PPMI + β·cos_text`` wherever a tag has a
vector. Tags are then grouped by average-linkage agglomerative clustering cut at
``1 - threshold`` (scipy.cluster.hierarchy: a cluster holds together on average, where single
linkage would chain two topics through one ambiguous tag). Generic tags (``#love``) co-occur
with everything at chance, so their PPMI rows are near zero and they stay alone.

Only tags on at least ``min_posts`` posts take part (at most ``max_tags`` of the most used, to
bound the O(m²) linkage), and only those with a partner ``min_lift`` times likelier than chance
(:func:`specific_tags`): background tags such as ``#love`` keep everyone's company a little, and
in a small world that was enough for average linkage to merge them with one topic (measured:
their strongest lift is below 5 on the tiny and demo worlds, a topic tag's above 12). Every
other tag is its own cluster.

>>> import scipy.sparse as sp
>>> x = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1],
...                              [0, 0, 1, 1], [1, 1, 0, 0]]))
>>> tag_clusters(x, min_posts=1, min_lift=0).tolist()
[0, 0, 1, 1]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from .. import setops
from ..snapshot.derived import Lag

if TYPE_CHECKING:
    from ..snapshot import Snapshot

__all__ = [
    "CLUSTERS_LAG",
    "TEXT_KEY",
    "TagClusters",
    "build_clusters",
    "ppmi_similarity",
    "snapshot_clusters",
    "specific_tags",
    "tag_clusters",
    "use_tag_vectors",
]


@dataclass(frozen=True)
class _Cooccurrence:
    """For some tags: how many posts carry each pair of them (tags × tags, CSR, indices
    sorted; the diagonal: each tag's posts), each tag's number of posts, and how many posts
    carry at least one of them (at least 1). Counted in one pass over the posts
    (:func:`._kernels.pair_counts`: the sparse product ``xᵀx`` took 5.4 s on the large
    world), once for the filter of :func:`specific_tags` and once for the tags it keeps."""

    co: sp.csr_matrix
    counts: np.ndarray
    posts: int

    @classmethod
    def of(cls, post_tags: sp.spmatrix, tags: np.ndarray) -> _Cooccurrence:
        from ._kernels import pair_counts  # numba: loaded when clusters are built

        x = sp.csr_matrix(post_tags)
        co, posts = pair_counts(x.indptr, x.indices, x.shape[1], tags)
        return cls(
            sp.csr_matrix(co.astype(np.float64)), np.diag(co).astype(np.float64), max(posts, 1)
        )


def ppmi_similarity(post_tags: sp.spmatrix, tags: np.ndarray) -> np.ndarray:
    """Cosine similarity of the PPMI rows of ``tags`` (columns of ``post_tags``), dense m × m.

    >>> x = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]]))
    >>> ppmi_similarity(x, np.arange(3)).round(2).tolist()
    [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    return _ppmi_similarity(_Cooccurrence.of(post_tags, tags))


def _ppmi_similarity(c: _Cooccurrence) -> np.ndarray:
    co, counts, n = c.co.tocoo(), c.counts, c.posts
    with np.errstate(divide="ignore"):
        pmi = np.log(co.data * n / (counts[co.row] * counts[co.col]))
    keep = pmi > 0  # the diagonal, PMI(a, a) = ln(N / n_a), keeps a pair seen only together
    m = len(counts)
    ppmi = sp.csr_matrix((pmi[keep], (co.row[keep], co.col[keep])), shape=(m, m))
    norms = np.sqrt(np.asarray(ppmi.multiply(ppmi).sum(axis=1)).ravel())
    unit = sp.diags(np.divide(1.0, norms, out=np.zeros(m), where=norms > 0)) @ ppmi
    return np.asarray((unit @ unit.T).todense())


def specific_tags(
    post_tags: sp.spmatrix, tags: np.ndarray, min_lift: float, min_co: int = 3
) -> np.ndarray:
    """The ``tags`` that keep some company: another of ``tags`` appears with them on at least
    ``min_co`` posts and at least ``min_lift`` times as often as chance (``e^PMI``).
    Background tags (``#love``, ``#instagood``) go with everything at about chance.

    >>> x = sp.csr_matrix(np.array([[1, 1, 1], [1, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 1]]))
    >>> specific_tags(x, np.arange(3), min_lift=1.5, min_co=2).tolist()
    [0, 1]
    """
    return tags[_specific(_Cooccurrence.of(post_tags, tags), min_lift, min_co)]  # type: ignore[no-any-return]


def _specific(c: _Cooccurrence, min_lift: float, min_co: int = 3) -> np.ndarray:
    """Positions (sorted) of the tags of ``c`` that :func:`specific_tags` keeps."""
    co, counts, n = c.co.tocoo(), c.counts, c.posts
    lift = co.data * n / (counts[co.row] * counts[co.col])
    ok = (co.row != co.col) & (co.data >= min_co) & (lift >= min_lift)
    return setops.unique(co.row[ok])


def tag_clusters(
    post_tags: sp.spmatrix,
    *,
    min_posts: int = 5,
    threshold: float = 0.3,
    min_lift: float = 6.0,
    max_tags: int = 3000,
    tag_vectors: np.ndarray | None = None,
    text_weight: float = 0.5,
) -> np.ndarray:
    """A cluster label per tag (column of the posts × tags matrix), dense from 0 in order of
    each cluster's first tag. See the module docstring for the method.

    ``tag_vectors`` (tags × d, optional): text embeddings of the tag names; rows of zeros for
    tags without one."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    x = sp.csr_matrix(post_tags)  # no copy of a CSR matrix (what a snapshot holds)
    n_tags = x.shape[1]
    counts = np.bincount(x.indices, minlength=n_tags)
    eligible = np.flatnonzero(counts >= min_posts)
    if len(eligible) > max_tags:
        eligible = np.sort(eligible[np.lexsort((eligible, -counts[eligible]))[:max_tags]])
    if min_lift > 0 and len(eligible) >= 2:
        eligible = eligible[_specific(_Cooccurrence.of(x, eligible), min_lift)]
    raw = np.arange(n_tags, dtype=np.int64) + n_tags  # everyone alone, then merge
    if len(eligible) >= 2:
        sim = _ppmi_similarity(_Cooccurrence.of(x, eligible))
        if tag_vectors is not None:
            sim = _with_text(sim, np.asarray(tag_vectors, dtype=np.float64)[eligible], text_weight)
        dist = np.clip(1.0 - sim, 0.0, 2.0)
        np.fill_diagonal(dist, 0.0)
        tree = linkage(squareform((dist + dist.T) / 2, checks=False), method="average")
        raw[eligible] = fcluster(tree, t=1.0 - threshold, criterion="distance")
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse]  # type: ignore[no-any-return]


def _with_text(sim: np.ndarray, vectors: np.ndarray, beta: float) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1)
    has = norms > 0
    unit = vectors / np.where(has, norms, 1.0)[:, None]
    both = has[:, None] & has[None, :]
    return np.where(both, (1 - beta) * sim + beta * (unit @ unit.T), sim)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class TagClusters:
    """Tag → cluster, cluster → member tags (most used first), and each cluster's head (its
    most used tag, the name it is shown under).

    Tags that appeared after the clusters were built are clusters of their own
    (:meth:`cluster_of` numbers them after the built ones).
    """

    label: np.ndarray  # cluster per tag index, for the tags that existed at the build
    indptr: np.ndarray  # cluster c's members: members[indptr[c]:indptr[c + 1]]
    members: np.ndarray
    head: np.ndarray  # per cluster: its most used tag

    @property
    def n_clusters(self) -> int:
        return len(self.head)

    def cluster_of(self, tags: np.ndarray | int) -> np.ndarray:
        """Cluster ids of tag indexes (a tag newer than the build: its own id past the end)."""
        t = np.atleast_1d(np.asarray(tags, dtype=np.int64))
        known = t < len(self.label)
        out = np.where(known, self.label[np.minimum(t, max(len(self.label) - 1, 0))], 0)
        return np.where(known, out, self.n_clusters + t - len(self.label))  # type: ignore[no-any-return]

    def members_of(self, tag: int) -> np.ndarray:
        """The tags in ``tag``'s cluster, most used first (a new tag: itself)."""
        if tag >= len(self.label):
            return np.array([tag], dtype=np.int64)
        c = int(self.label[tag])
        return self.members[self.indptr[c] : self.indptr[c + 1]]

    def heads(self, clusters: np.ndarray) -> np.ndarray:
        """The head tag of each cluster id (a new tag's own cluster: the tag)."""
        c = np.asarray(clusters, dtype=np.int64)
        built = c < self.n_clusters
        known = self.head[np.minimum(c, max(self.n_clusters - 1, 0))] if self.n_clusters else c
        return np.where(built, known, c - self.n_clusters + len(self.label))  # type: ignore[no-any-return]

    def membership(self, n_tags: int) -> sp.csr_matrix:
        """Tags × clusters indicator (``post_tags @ membership`` counts a post's tags per
        cluster); tags newer than the build get columns of their own."""
        cl = self.cluster_of(np.arange(n_tags))
        width = int(cl.max()) + 1 if n_tags else self.n_clusters
        return sp.csr_matrix((np.ones(n_tags), (np.arange(n_tags), cl)), shape=(n_tags, width))


def build_clusters(
    post_tags: sp.spmatrix, **options: float | int | np.ndarray | None
) -> TagClusters:
    """:func:`tag_clusters` packed as a :class:`TagClusters`."""
    x = sp.csr_matrix(post_tags)
    counts = np.bincount(x.indices, minlength=x.shape[1])
    label = tag_clusters(x, **options)  # type: ignore[arg-type]
    order = np.lexsort((np.arange(len(label)), -counts, label))
    members = order.astype(np.int64)
    n = int(label.max()) + 1 if len(label) else 0
    indptr = np.concatenate([[0], np.cumsum(np.bincount(label, minlength=n))]).astype(np.int64)
    head = members[indptr[:-1]] if n else np.zeros(0, np.int64)
    return TagClusters(label.astype(np.int64), indptr, members, head)


#: Clusters are rebuilt once the hashtag links grew by 5 % (plus 1,000 rows) since the build:
#: a new post's tags rarely change what belongs together, and tags newer than the build are
#: clusters of their own meanwhile.
CLUSTERS_LAG = Lag("tags", share=0.05, slack=1000)


#: Where a snapshot keeps the hashtag name vectors its clusters use (:func:`use_tag_vectors`).
TEXT_KEY = "hashtag_text"


def use_tag_vectors(snap: Snapshot, vectors: Any) -> None:
    """Cluster ``snap``'s hashtags with these name vectors from now on (None: co-occurrence
    alone). ``vectors`` has ``rows(names)`` (float rows, zeros for a name without a vector;
    :class:`discovery.embeddings.tags.TagVectors`). Clusters built with other vectors are
    dropped; the same vectors again change nothing. Whoever loads a store's models for a
    snapshot calls this (the engine, the batch jobs, the simulator), so every feed of that
    snapshot sees one set of clusters."""
    held = snap.derived.get(TEXT_KEY)
    if _key(held) == _key(vectors):  # the same vectors (or none) again
        return
    snap.derived.drop(TEXT_KEY)
    snap.derived.drop("hashtag_clusters")
    if vectors is not None:
        snap.derive(TEXT_KEY, lambda: vectors, depends_on=())


def _key(vectors: Any) -> Any:
    """What tells two sets of name vectors apart: their ``key`` (model, version, size; a
    copy shipped to a batch worker has the same) or, without one, the object itself."""
    return None if vectors is None else getattr(vectors, "key", id(vectors))


def snapshot_clusters(snap: Snapshot) -> TagClusters:
    """The hashtag clusters of a snapshot (a derived structure, built on first use), with the
    name vectors given to :func:`use_tag_vectors` when there are any."""

    def build(snap: Snapshot) -> TagClusters:
        text = snap.derived.get(TEXT_KEY)
        names = snap.tag_name
        vectors = None if text is None else text.rows(names)
        if vectors is not None and not vectors.shape[1]:
            vectors = None
        return build_clusters(snap.post_tags_matrix(), tag_vectors=vectors)

    return snap.derive_of("hashtag_clusters", build, depends_on=(CLUSTERS_LAG,))
