"""Hostile data for the page tests: markup in captions and handles, and image sources that must
never reach an ``<img>`` (``javascript:``, ``data:``, protocol-relative, path traversal).

:func:`add_hostile` adds them to any world that has the demo user ``me`` following someone:
an account two hops away (followed by one of ``me``'s followees) whose handle is markup, with a
fresh, popular post (so it reaches Explore and the network view), and a post by a followee (so
it reaches the timeline).
"""

from __future__ import annotations

from pathlib import Path

from discovery.store import Store

__all__ = ["BAD_HANDLE", "BAD_IMAGES", "CAPTION", "HOSTILE_POSTS", "add_hostile"]

CAPTION = "<script>alert(1)</script> #hiking #sunset"
BAD_HANDLE = '"><script>alert("handle")</script>'
#: post id -> (caption, image)
HOSTILE_POSTS = {
    990001: (CAPTION, "javascript:alert(1)"),
    990002: (
        '"><img src=x onerror=alert(2)> </script><script>alert(3)</script> #hiking',
        "JaVaScRiPt:alert(3)",
    ),
    990003: ("data image #hiking", "data:image/svg+xml,<svg onload=alert(4)>"),
    990004: ("protocol relative #hiking", "//evil.example/x.jpg"),
    990005: ("traversal #hiking", "../../../etc/passwd"),
}
BAD_IMAGES = [image for _, image in HOSTILE_POSTS.values()]
BAD_ACCOUNT = 990000


def add_hostile(db: str | Path) -> dict[str, int]:
    """Add the hostile account and posts to ``db``; returns the ids used."""
    store = Store.open(db, create=False)
    try:
        me = store.account_id("me")
        now = int(store.get_meta("now") or 0)
        friend = store._fetch("SELECT dst FROM follows WHERE src = ? ORDER BY dst LIMIT 1", (me,))
        friend_id = int(friend[0][0])
        with store.transaction():
            store.add_accounts([(BAD_ACCOUNT, BAD_HANDLE, "<b>bold</b>", "person", now - 86_400)])
            store.add_follows([(friend_id, BAD_ACCOUNT, now - 3600)])
            rows = []
            for i, (pid, (caption, _image)) in enumerate(sorted(HOSTILE_POSTS.items())):
                author = BAD_ACCOUNT if pid != 990002 else friend_id
                rows.append((pid, author, now - 600 * (i + 1), caption, "photo", None, 500, 40))
            store.add_posts(rows)
            # The store refuses such images now; a database written before it did may still
            # hold them, and pages must keep them inert: write them as an old version would.
            for pid, (_, image) in HOSTILE_POSTS.items():
                store._exec("UPDATE posts SET image = ? WHERE id = ?", (image, pid))
        return {"me": me, "friend": friend_id, "account": BAD_ACCOUNT}
    finally:
        store.close()
