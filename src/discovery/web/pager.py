"""Numbered pages of a long table (the network view's accounts), reached by ``?page=N``, so
paging works without JavaScript.

>>> p = Pager.of(total=60, page=2, size=25)
>>> (p.start, p.stop, p.pages, p.previous, p.next)
(25, 50, 3, 1, 3)
>>> Pager.of(total=0, page=1, size=25).pages  # an empty table still has its one page
1
>>> Pager.of(total=60, page=4, size=25)
Traceback (most recent call last):
...
discovery.store.errors.NotFound: no page 4: the table has 3 pages of 25
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store import NotFound

__all__ = ["TABLE_PAGE", "Pager"]

#: Rows on one page of the network view's account table.
TABLE_PAGE = 25


@dataclass(frozen=True)
class Pager:
    """Page ``page`` (1-based) of ``pages``: rows ``start:stop`` of the table."""

    page: int
    pages: int
    start: int
    stop: int

    @classmethod
    def of(cls, total: int, page: int, size: int = TABLE_PAGE) -> Pager:
        """The page ``page`` of ``total`` rows, ``size`` a page; :class:`NotFound` past the
        last page."""
        pages = max(1, -(-total // size))
        if not 1 <= page <= pages:
            raise NotFound(
                f"no page {page}: the table has {pages} page{'s' * (pages > 1)} of {size}"
            )
        start = (page - 1) * size
        return cls(page, pages, start, min(start + size, total))

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None
