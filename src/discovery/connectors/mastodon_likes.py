"""The user's own side of a Mastodon sync: favourites (likes) and followed hashtags.

Both need the user's own access token. Favourites become ``like`` interactions, dated by
Pixelfed's ``liked_at`` when it sends one and otherwise by the status (Mastodon does not say
when a favourite was given). Followed hashtags: the ranking reads interests from engagements
with tagged posts (:func:`discovery.ranking.context.interest_profile`), so each followed tag
brings the recent media posts of its tag timeline (``timeline_hashtag(only_media=True)``) as
candidates, and the newest :data:`TAG_SEEDS` of them get a ``tag`` interaction of the user. A
``tag`` interaction weighs 2 in the interest profile (a like weighs 1), so a followed tag counts
like six likes of its posts — however busy the tag is — and, unlike a like, it does not mark
the post as seen, so those posts can still be shown.

Withdrawals: a complete favourites listing (shorter than ``max_likes``) that no longer holds a
status removes its like; an unfollowed tag removes its ``tag`` interactions
(:meth:`Store.remove_interactions`).
"""

from __future__ import annotations

from typing import Any

from ..store import AccountRecord, normalize_hashtag
from .mastodon_records import Skip, StatusDraft, parse_time
from .mastodon_sync import Run

__all__ = ["TAG_SEEDS", "sync_favourites", "sync_followed_tags"]

#: Posts per followed tag that carry the user's ``tag`` interaction (the tag's interest weight).
TAG_SEEDS = 3

#: How many posts of one followed tag the state remembers (to withdraw them on unfollow).
_TAG_MEMORY = 200


def _liked_at(value: Any, default: int, now: int) -> int:
    try:
        return parse_time(value, "liked_at", now)
    except Skip:
        return default


def sync_favourites(run: Run, user: AccountRecord) -> None:
    """The user's favourites as likes; unfavourited ones withdrawn."""
    limit = run.options.max_likes
    raw = list(run.client.pages("favourites", limit=40, max_items=limit))
    drafts = run.drafts(raw, "likes")
    liked_at = {str(e.get("id")): e.get("liked_at") for e in raw if isinstance(e, dict)}
    complete = len(raw) < limit
    before = set(run.state("favourites", []))
    listed = {d.key: d for d in drafts}
    with run.writing():
        ids = run.accounts([user, *(d.author for d in drafts)])
        uid = ids[user.key]
        posts = run.posts(list(listed.values()), ids)
        new = run.store.add_interactions(
            (uid, posts[k], "like", _liked_at(liked_at.get(d.id), d.taken_at, run.now), None)
            for k, d in listed.items()
        )
        gone = run.store.ids_for_keys("posts", before - set(listed)) if complete else {}
        removed = run.store.remove_interactions((uid, p, "like") for p in gone.values())
        run.summary.add("likes", read=len(listed), new=new, removed=removed)
        run.save("favourites", sorted(set(listed) if complete else before | set(listed)))


def _tag_name(entity: Any) -> str | None:
    tag = normalize_hashtag(str(entity.get("name") or "")) if isinstance(entity, dict) else ""
    ok = tag and tag.isprintable() and len(tag) <= 100 and " " not in tag and "/" not in tag
    return tag if ok else None


def sync_followed_tags(run: Run, user: AccountRecord) -> None:
    """Followed hashtags as interests: their tag timelines' media posts, ``tag``-interacted."""
    tags = []
    for entity in run.client.pages("followed_tags", limit=100, max_items=200):
        tag = _tag_name(entity)
        if tag is None:
            run.summary.skip("tags", "bad tag name")
        elif tag not in tags:
            tags.append(tag)
    before: dict[str, list[str]] = run.state("tags", {})
    found: dict[str, list[StatusDraft]] = {}
    for tag in tags:
        limit = min(40, run.options.max_posts)
        page = run.client.call("timeline_hashtag", tag, only_media=True, limit=limit)
        found[tag] = [d for d in run.drafts(page or [], "tag posts") if d.taken_at >= run.cutoff]
    with run.writing():
        drafts = [d for ds in found.values() for d in ds]
        ids = run.accounts([user, *(d.author for d in drafts)])
        uid = ids[user.key]
        posts = run.posts(drafts, ids)
        run.store.add_post_tags((posts[d.key], tag) for tag, ds in found.items() for d in ds)
        seeds = {
            tag: sorted(ds, key=lambda d: -d.taken_at)[:TAG_SEEDS] for tag, ds in found.items()
        }
        new = run.store.add_interactions(
            (uid, posts[d.key], "tag", d.taken_at, None) for ds in seeds.values() for d in ds
        )
        dropped = [k for tag, keys in before.items() if tag not in found for k in keys]
        gone = run.store.ids_for_keys("posts", dropped)
        removed = run.store.remove_interactions((uid, p, "tag") for p in gone.values())
        run.summary.add(
            "followed tags",
            read=len(tags),
            new=len(set(tags) - set(before)),
            removed=len(set(before) - set(tags)),
        )
        run.summary.add("tag interests", read=len(drafts), new=new, removed=removed)
        memory = {
            tag: sorted(set(before.get(tag, [])) | {d.key for d in ds})[-_TAG_MEMORY:]
            for tag, ds in seeds.items()
        }
        run.save("tags", memory)
