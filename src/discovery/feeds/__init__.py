"""Feed results (typed items, JSON, DataFrame, HTML)."""

from .items import Feed, FeedItem, Interest, Interests

__all__ = ["Feed", "FeedItem", "Interest", "Interests"]
