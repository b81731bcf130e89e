"""Candidates, scoring, filtering and mixing: everything between a snapshot and a feed."""

from .context import UserContext, interest_profile, user_context
from .mix import diversify, drop_unwanted, order_by_score, random_mix
from .rankers import RANKERS, DefaultRanker, Ranker, Scored, TutorialRanker, get_ranker
from .reasons import reason_for
from .sources import SOURCES, Candidates, Source, top_interests, window_posts

__all__ = [
    "RANKERS",
    "SOURCES",
    "Candidates",
    "DefaultRanker",
    "Ranker",
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
    "top_interests",
    "user_context",
    "window_posts",
]
