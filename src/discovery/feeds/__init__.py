"""Feed results (typed items, JSON, DataFrame, HTML)."""

from .items import Feed, FeedItem, Interest, Interests
from .state import mark_viewer

__all__ = ["Feed", "FeedItem", "Interest", "Interests", "mark_viewer"]
