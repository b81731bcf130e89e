"""`discovery sync mastodon`: a recorded network (tests/fakes/mastodon.py, Mastodon API entity
shapes) served on 127.0.0.1, synced with Mastodon.py, then fed back through the engine.

The network's right answers are known by construction (see :func:`photo_network`): ana follows
bo, cy, dee and lena; eve, fay, gus and hal are followed by her follows; she favourited three
#mountains posts and follows the tag #film.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mastodon", reason="Mastodon.py (the mastodon extra) is not installed")

from discovery import Engine
from discovery.cli import main
from discovery.connectors.mastodon import MastodonOptions, MastodonSyncError, sync_mastodon
from discovery.connectors.mastodon_records import html_to_text
from discovery.connectors.mastodon_sync import SyncProgress
from discovery.store import Store
from fakes.mastodon import HOUR, FakeMastodon, Status, html, image, photo_network, pixelfed_network

ANA = "ana@photos.example"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake() -> Any:
    with FakeMastodon(photo_network(time.time())) as server:
        yield server


def opts(fake: FakeMastodon, **kw: Any) -> MastodonOptions:
    base: dict[str, Any] = {"api_base": fake.url, "token": "ana-token", "backoff": 0.01}
    return MastodonOptions(kw.pop("user", ANA), **(base | kw))


def content(db: Path | str) -> dict[str, Any]:
    """Everything a sync wrote, by external key (ids differ between databases)."""
    with Store.open(db, create=False) as s:
        ch = s.changes_since(-1)
        acc = {a: i.key for a, i in s.account_info([int(x) for x in ch.accounts["id"]]).items()}
        posts = s.post_info([int(x) for x in ch.posts["id"]])
        pkey = {p: i.key for p, i in posts.items()}
        return {
            "accounts": sorted(acc.values()),
            "posts": sorted(pkey.values()),
            "follows": sorted((acc[int(a)], acc[int(b)]) for a, b in s.follow_edges()),
            "interactions": sorted(
                (acc[int(r["u"])], pkey[int(r["p"])], int(r["k"]), int(r["t"]))
                for r in ch.interactions
            ),
            "n_interactions": len(ch.interactions),
            "captions": {i.key: i.caption for i in posts.values()},
            "images": {i.key: (i.image, i.media_type) for i in posts.values()},
            "counts": {pkey[int(r["id"])]: (int(r["likes"]), int(r["comments"])) for r in ch.posts},
        }


def first_lines(feed: Any) -> set[str]:
    return {item.caption.split("\n")[0] for item in feed}


# ------------------------------------------------------------------ known answers
def test_sync_then_serve_feeds(fake: FakeMastodon, tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with Store.open(db) as store:
        summary = sync_mastodon(store, opts(fake))
    rows = summary.rows
    assert rows["accounts"][:2] == [10, 10] and rows["follows"][:2] == [12, 12]
    assert rows["posts"][:2] == [20, 20] and rows["likes"][:2] == [3, 3]
    assert summary.skipped == {("posts", "not public"): 1}
    got = content(db)
    ana = "mastodon:@ana@photos.example"
    assert {b for a, b in got["follows"] if a == ana} == {
        f"mastodon:@{n}" for n in ("bo@photos.example", "cy@photos.example",
                                    "dee@photos.example", "lena@pix.example")
    }  # fmt: skip
    engine = Engine.open(db, cache=False)
    # Timeline: the follows' image posts of the last 30 days; cy's "Summit" is liked (seen),
    # bo's 60-day-old post, his text-only post and dee's followers-only post never came in.
    assert first_lines(engine.timeline(ANA, k=30)) == {
        "Grain #film", "Flat white #coffee", "Sunset over the bay #sunset", "Loop #timelapse",
        "Cat on a wall #cat", "Tram at night #street", "Croissant #food", "Field #travel",
        "Morning ride #bike",
    }  # fmt: skip
    # Explore: accounts followed by the accounts ana follows (and #film's ivy), never her own
    # follows; eve, followed by three of them, is proposed through the graph.
    explore = engine.explore(ANA, k=30)
    authors = {item.author for item in explore}
    assert {"eve@photos.example", "fay@photos.example", "gus@photos.example",
            "hal@photos.example"} <= authors <= {"eve@photos.example", "fay@photos.example",
            "gus@photos.example", "hal@photos.example", "ivy@photos.example"}  # fmt: skip
    valley = next(i for i in explore if i.caption.startswith("Valley"))
    assert "ppr_authors" in valley.sources
    # Interests: #film from the followed tag, #mountains from the favourites.
    top = [i.tag for i in engine.interests(ANA, k=3)]
    assert {"film", "mountains"} <= set(top)


def test_records_are_plain_text_with_preview_images_and_counts(
    fake: FakeMastodon, tmp_path: Path
) -> None:
    with Store.open(tmp_path / "m.db") as store:
        sync_mastodon(store, opts(fake))
    got = content(tmp_path / "m.db")
    bo = fake.inst.accounts[2]
    sunset = bo.statuses[0]
    key = f"mastodon:https://photos.example/@bo/{sunset.id}"
    # <p>…<a class="hashtag">#<span>sunset</span></a></p> → text; alt text last
    assert (
        got["captions"][key] == "Sunset over the bay #sunset\n\nImage: Sunset over the bay (photo)"
    )
    assert got["images"][key][0].endswith("/small.jpg") and got["images"][key][1] == "photo"
    loop = next(k for k, c in got["captions"].items() if c.startswith("Loop"))
    assert got["images"][loop][1] == "video"  # a gifv: its preview image, as a video
    assert got["counts"][key] == (sunset.favourites, sunset.replies)


def test_html_to_text_is_safe() -> None:
    hostile = (
        '<p>hi<script>alert("x")</script><style>p{}</style> &lt;b&gt; <img src=x onerror=y>'
        '<a href="javascript:evil()">click</a> <a href="https://e.example/x">read</a>\x00</p>'
    )
    assert html_to_text(hostile) == "hi <b> click read (https://e.example/x)"
    assert html_to_text("<p>a</p><p>b<br/>c</p>") == "a\n\nb\nc"
    assert html_to_text("<p>unclosed <script>never ends") == "unclosed"


# ----------------------------------------------------------------- state, deletes
def test_resync_is_idempotent_and_asks_only_for_newer(fake: FakeMastodon, tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with Store.open(db) as store:
        sync_mastodon(store, opts(fake))
        counter, before = store.change_counter, content(db)
        fake.requests.clear()
        again = sync_mastodon(store, opts(fake))
        assert store.change_counter == counter
    assert content(db) == before
    assert all(row[1] == row[2] == 0 for row in again.rows.values())
    statuses = [q for e, q in fake.requests if e == "api/v1/accounts/:id/statuses"]
    assert statuses and all("since_id" in q for q in statuses)


def test_new_deleted_unfavourited_and_unfollowed_on_the_next_sync(
    fake: FakeMastodon, tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    inst = fake.inst
    with Store.open(db) as store:
        sync_mastodon(store, opts(fake))
    bo, eve, ana = inst.accounts[2], inst.accounts[5], inst.accounts[1]
    now = time.time()
    bo.statuses.append(Status(int(now) * 1000 + 999, now - 60, html("Fresh", ("new",), "photos.example"),
                              [image(999)], ("new",)))  # fmt: skip
    valley = next(s for s in eve.statuses if "Valley" in s.html)
    eve.statuses.remove(valley)  # deleted upstream
    inst.favourites[ana.id] = [f for f in inst.favourites[ana.id] if f[0] != 2]  # unfavourite fay's
    ana.following.remove(4)  # unfollow dee
    inst.followed_tags[ana.id] = []  # unfollow #film
    with Store.open(db) as store:
        summary = sync_mastodon(store, opts(fake))
    got = content(db)
    assert summary.rows["posts"][1:] == [1, 1] and summary.rows["likes"][2] == 1
    assert summary.rows["follows"][2] == 1 and summary.rows["tag interests"][2] == 3
    assert f"mastodon:https://photos.example/@eve/{valley.id}" not in got["posts"]
    assert f"mastodon:https://photos.example/@bo/{int(now) * 1000 + 999}" in got["posts"]
    assert ("mastodon:@ana@photos.example", "mastodon:@dee@photos.example") not in got["follows"]
    kinds = sorted(k for a, _, k, _ in got["interactions"] if a == "mastodon:@ana@photos.example")
    assert kinds == [0, 0]  # two likes left, no tag interests
    engine = Engine.open(db, cache=False)
    assert "Valley #mountains" not in first_lines(engine.explore(ANA, k=30))
    assert "Fresh #new" in first_lines(engine.timeline(ANA, k=30))


def test_killed_sync_resumes_without_duplicates(fake: FakeMastodon, tmp_path: Path) -> None:
    clean = tmp_path / "clean.db"
    with Store.open(clean) as store:
        sync_mastodon(store, opts(fake))
    db = tmp_path / "killed.db"
    fake.hang_at = len(fake.requests) + 20  # inside the statuses phase
    script = textwrap.dedent(f"""
        from discovery.store import Store
        from discovery.connectors.mastodon import MastodonOptions, sync_mastodon
        with Store.open({str(db)!r}) as store:
            sync_mastodon(store, MastodonOptions({ANA!r}, api_base={fake.url!r}, token="ana-token"))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        assert fake.hanging.wait(60), "the sync never reached the hanging request"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    fake.hang_at = None
    fake.release.set()
    partial = content(db)
    assert 0 < len(partial["posts"]) < len(content(clean)["posts"])
    with Store.open(db) as store:
        sync_mastodon(store, opts(fake))
    resumed, expected = content(db), content(clean)
    for part in ("accounts", "posts", "follows", "n_interactions"):
        assert resumed[part] == expected[part], part


# ---------------------------------------------------------- rate limits, failures
class Notes(SyncProgress):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def status(self, text: str) -> None:
        self.lines.append(text)


def test_a_429_waits_and_succeeds(fake: FakeMastodon, tmp_path: Path) -> None:
    fake.fail["api/v1/accounts/:id/statuses"] = [429]
    notes = Notes()
    start = time.monotonic()
    with Store.open(tmp_path / "m.db") as store:
        summary = sync_mastodon(store, opts(fake), notes)
    assert time.monotonic() - start >= 0.5  # waited for X-RateLimit-Reset
    assert summary.waits == 1 and summary.rows["posts"][1] == 20
    assert notes.lines and notes.lines[0].startswith("rate limited: waiting")
    assert notes.rate is not None and notes.rate.describe() == "rate limit 299/300"


def test_5xx_is_retried_then_one_line(fake: FakeMastodon, tmp_path: Path) -> None:
    fake.fail["api/v1/favourites"] = [500, 503]
    with Store.open(tmp_path / "m.db") as store:
        summary = sync_mastodon(store, opts(fake))
        assert summary.retries == 2 and summary.rows["likes"][1] == 3
        fake.fail["api/v1/favourites"] = [500] * 10
        with pytest.raises(MastodonSyncError, match=r"kept failing \(500 Internal Server Error"):
            sync_mastodon(store, opts(fake, retries=2))


def test_malformed_entities_are_skipped_and_counted(fake: FakeMastodon, tmp_path: Path) -> None:
    inst = fake.inst
    bo = inst.accounts[2]
    good = inst.status_entity(bo, bo.statuses[0])

    def variant(n: int, **changes: Any) -> dict[str, Any]:
        entity = dict(good, id=str(9_000 + n), url=f"https://photos.example/@bo/{9_000 + n}")
        entity.update(changes)
        return {k: v for k, v in entity.items() if v is not ...}

    fake.raw_statuses[bo.id] = [
        variant(1, created_at=...),  # missing field
        variant(2, id=...),
        variant(3, media_attachments=[dict(image(5), type="model/3d")]),  # unknown media type
        variant(4, content="<p>" + "x" * 30_000 + "</p>"),  # huge
        variant(5, favourites_count=2**63),
        variant(6, content='<p>ok <script>document.cookie</script><b onclick="x">bold</b></p>'),
        variant(7, media_attachments=[dict(image(6), preview_url="javascript:alert(1)", url=None)]),
        "not an object",
    ]
    inst.accounts[1].following.append(99)
    inst.add(99, "\u202egnp.exe")  # bidi override in acct
    with Store.open(tmp_path / "m.db") as store:
        summary = sync_mastodon(store, opts(fake))
    skipped = dict(summary.skipped)
    assert skipped == {
        ("posts", "missing created_at"): 1, ("posts", "status without id"): 1,
        ("posts", "no image attachment"): 1, ("posts", "caption too long"): 1,
        ("posts", "like_count out of range"): 1, ("posts", "bad image url"): 1,
        ("posts", "status is not an object"): 1, ("posts", "not public"): 1,
        ("accounts", "bad handle"): 1,
    }  # fmt: skip
    got = content(tmp_path / "m.db")
    assert got["captions"]["mastodon:https://photos.example/@bo/9006"].startswith("ok bold")
    assert summary.rows["posts"][1] == 21


def test_cli_errors_are_one_line(
    fake: FakeMastodon, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "m.db")

    def run(*argv: str) -> str:
        with pytest.raises(SystemExit) as exit_:
            main(["--db", db, "sync", "mastodon", *argv, "--retries", "0"])
        assert exit_.value.code == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        return err

    assert "no account zed@photos.example" in run("zed@photos.example", "--api-base", fake.url)
    assert "refused the access token" in run(ANA, "--api-base", fake.url, "--token", "nope")
    assert "cannot reach" in run(ANA, "--api-base", "http://127.0.0.1:9")
    assert "is not USER@INSTANCE" in run("ana", "--api-base", fake.url)
    with _NotMastodon() as url:
        assert "not answer as a Mastodon-compatible API" in run(ANA, "--api-base", url)
    assert not Path(db).exists() or Store.open(db).count("posts") == 0


def ok(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0


class _NotMastodon:
    """A web server that is not a Mastodon: HTML for every path."""

    def __enter__(self) -> str:
        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b"<html><body>a blog</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()


def test_cli_dry_run_token_from_env_and_never_stored(
    fake: FakeMastodon,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "ana-token"
    monkeypatch.setenv("DISCOVERY_MASTODON_TOKEN", secret)
    db = tmp_path / "m.db"
    ok(["--db", str(db), "sync", "mastodon", ANA, "--api-base", fake.url, "--dry-run"])
    out = capsys.readouterr().out
    assert "dry run" in out and "likes" in out and not db.exists()
    ok(["--db", str(db), "sync", "mastodon", ANA, "--api-base", fake.url])
    out = capsys.readouterr().out
    assert "likes" in out and "requests" in out
    assert (
        content(db)["n_interactions"] == 6
    )  # favourites and tag interests came with the env token
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert secret not in dump and secret.encode() not in db.read_bytes()


# ---------------------------------------------------------------------- Pixelfed
def test_pixelfed_instance_same_api(tmp_path: Path) -> None:
    now = time.time()
    with FakeMastodon(pixelfed_network(now)) as pix:
        with Store.open(tmp_path / "p.db") as store:
            with pytest.raises(MastodonSyncError, match="only with an access token"):
                sync_mastodon(store, MastodonOptions("lena@pix.example", api_base=pix.url))
            summary = sync_mastodon(
                store, MastodonOptions("lena@pix.example", api_base=pix.url, token="lena-token")
            )
        assert pix.count("api/v1/accounts/search") >= 1  # no /accounts/lookup on Pixelfed
    assert summary.server.endswith("Pixelfed 0.12.4)")
    got = content(tmp_path / "p.db")
    assert got["posts"] == [
        "mastodon:https://pix.example/p/hal/700",
        "mastodon:https://pix.example/p/mo/701",
    ]
    assert got["follows"] == [("mastodon:@lena@pix.example", "mastodon:@hal@pix.example"),
                              ("mastodon:@lena@pix.example", "mastodon:@mo@pix.example")]  # fmt: skip
    (like,) = got["interactions"]
    assert like[1:3] == ("mastodon:https://pix.example/p/mo/701", 0)
    assert abs(like[3] - (now - HOUR)) < 2  # Pixelfed's liked_at, not the status's time


def test_progress_bar_shows_counts_rate_limit_budget_and_waits(
    fake: FakeMastodon, tmp_path: Path
) -> None:
    import io

    from rich.console import Console
    from rich.progress import Progress, TextColumn

    from discovery.cli.connect_mastodon import _Bar

    fake.fail["api/v1/favourites"] = [429]
    notes: list[str] = []
    with Progress(TextColumn("{task.fields[note]}"),
                  console=Console(file=io.StringIO(), force_terminal=True)) as progress:  # fmt: skip
        bar = _Bar(progress)
        original = bar.status
        bar.status = lambda text: (original(text), notes.append(progress.tasks[0].fields["note"]))  # type: ignore[method-assign]
        with Store.open(tmp_path / "m.db") as store:
            sync_mastodon(store, opts(fake), bar)
        final = progress.tasks[0].fields["note"]
    assert notes and "rate limit 0/300" in notes[0] and "rate limited: waiting" in notes[0]
    assert final.startswith("10 accounts · 20 posts · 12 follows · 3 likes · rate limit 299/300")
