"""Candidates, scoring, filtering and mixing: everything between a snapshot and a feed.

The path of one feed (declared per kind in :mod:`.feedkinds`, run by :mod:`.pipeline`):
sources (:mod:`.sources`, registered by name) → filters with reasons (:mod:`.filters`) →
a ranker (:mod:`.rankers`, registered by name) → a selection (:mod:`.selection`) ending in the
one author rule (:mod:`.diversity`) → typed picks (:mod:`.picks`) with typed evidence
(:mod:`.evidence`).
"""

from .candidates import Candidates
from .context import UserContext, interest_profile, user_context
from .diversity import AuthorBudget, diversify
from .evidence import Evidence
from .feedkinds import KINDS, FeedKind, drop_unwanted
from .filters import FILTERS, Filter, Filtered, run_filters
from .mix import order_by_score, random_mix
from .picks import Candidate, Pick, Pool
from .pipeline import Pipeline
from .rankers import RANKERS, DefaultRanker, Ranker, Scored, TutorialRanker, get_ranker
from .reasons import reason_for
from .registry import Registry
from .sources import SOURCES, Source, top_interests, window_posts

__all__ = [
    "FILTERS",
    "KINDS",
    "RANKERS",
    "SOURCES",
    "AuthorBudget",
    "Candidate",
    "Candidates",
    "DefaultRanker",
    "Evidence",
    "FeedKind",
    "Filter",
    "Filtered",
    "Pick",
    "Pipeline",
    "Pool",
    "Ranker",
    "Registry",
    "Scored",
    "Source",
    "TutorialRanker",
    "UserContext",
    "diversify",
    "drop_unwanted",
    "get_ranker",
    "interest_profile",
    "order_by_score",
    "random_mix",
    "reason_for",
    "run_filters",
    "top_interests",
    "user_context",
    "window_posts",
]
