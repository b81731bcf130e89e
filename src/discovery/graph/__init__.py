"""Graph affinity: personalized PageRank on the follow graph, exact and approximate.

Adjacency convention: ``A[source, target] = weight`` (a follower's row lists whom they follow).
Every function is pure; :class:`PPRIndex` caches the transition matrix for repeated queries.

* exact: :func:`personalized_pagerank`, :class:`PPRIndex` (float64 power iteration, networkx's
  semantics);
* approximate, for serving: :func:`push_pagerank` / :func:`ppr_push` (forward push),
  :func:`monte_carlo_pagerank` / :func:`ppr_monte_carlo` (random walks), :func:`warmup`;
* a seed's own out-edges changed on a graph that lags: :func:`replace_seed_row`;
* ego networks (the tutorial's per-request graph): :func:`ego_subgraph`, :func:`ego_pagerank`;
* graph construction: :func:`adjacency_from_edges`, :func:`tutorial_graph`,
  :func:`interaction_weights`;
* agreement measures: :func:`top_k`, :func:`topk_overlap`, :func:`mass_ratio`.

Importing this package does not import numba; kernels compile (or load from the on-disk
cache) on first use or in :func:`warmup`.
"""

from .approx import (
    fora_pagerank,
    monte_carlo_pagerank,
    ppr_monte_carlo,
    ppr_push,
    push_pagerank,
    push_pagerank_sparse,
    warmup,
)
from .build import adjacency_from_edges, interaction_weights, tutorial_graph
from .ego import ego_pagerank, ego_subgraph
from .metrics import mass_ratio, top_k, topk_overlap
from .pagerank import PPRConvergenceError, PPRIndex, personalized_pagerank
from .seed_row import replace_seed_row

__all__ = [
    "PPRConvergenceError",
    "PPRIndex",
    "adjacency_from_edges",
    "ego_pagerank",
    "ego_subgraph",
    "fora_pagerank",
    "interaction_weights",
    "mass_ratio",
    "monte_carlo_pagerank",
    "personalized_pagerank",
    "ppr_monte_carlo",
    "ppr_push",
    "push_pagerank",
    "push_pagerank_sparse",
    "replace_seed_row",
    "top_k",
    "topk_overlap",
    "tutorial_graph",
    "warmup",
]
