"""`discovery bluesky publish-feed`: the app.bsky.feed.generator record it prints (--dry-run)
and writes to a fake PDS on 127.0.0.1 (createSession + putRecord), and one-line errors for bad
credentials, no network and bad values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest

from cli_run import run_cli as run
from feedgen_fakes import PUBLISHER, SERVICE_DID, FakePds

PASSWORD = "abcd-efgh-ijkl-mnop"


@pytest.fixture
def pds() -> Iterator[FakePds]:
    server = FakePds("me.test", PUBLISHER, PASSWORD)
    yield server
    server.close()


def publish(pds: FakePds, *extra: str) -> list[str]:
    return [
        "bluesky",
        "publish-feed",
        "--feedgen-did",
        SERVICE_DID,
        "--handle",
        "me.test",
        "--service",
        pds.url,
        *extra,
    ]


def test_dry_run_prints_the_record_and_calls_nobody(
    pds: FakePds, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *publish(pds, "--rkey", "blend", "--dry-run"))
    assert code == 0, err
    call = json.loads(out)
    assert set(call) == {"repo", "collection", "rkey", "record"}
    assert (call["repo"], call["collection"], call["rkey"]) == (
        "me.test",
        "app.bsky.feed.generator",
        "blend",
    )
    record = call["record"]
    assert set(record) == {"$type", "did", "displayName", "description", "createdAt"}
    assert record["$type"] == "app.bsky.feed.generator" and record["did"] == SERVICE_DID
    assert record["displayName"] == "Blend (discovery)"
    assert datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00")).tzinfo
    assert err.strip() == "dry run: nothing written"
    assert pds.requests == []


def test_publish_writes_the_record_with_an_app_password(
    pds: FakePds, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", PASSWORD)
    argv = publish(pds, "--display-name", "Mon Explore ✨", "--description", "Photos")
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert out.strip() == f"at://{PUBLISHER}/app.bsky.feed.generator/explore"
    assert f"--feedgen-publisher {PUBLISHER}" in err
    assert [path for _, path, _, _ in pds.requests] == [
        "/xrpc/com.atproto.server.createSession",
        "/xrpc/com.atproto.repo.putRecord",
    ]
    record = pds.records[("app.bsky.feed.generator", "explore")]
    assert {k: record[k] for k in ("$type", "did", "displayName", "description")} == {
        "$type": "app.bsky.feed.generator",
        "did": SERVICE_DID,
        "displayName": "Mon Explore ✨",
        "description": "Photos",
    }
    put = json.loads(pds.requests[1][3])
    assert (put["repo"], put["rkey"]) == (PUBLISHER, "explore")  # the session's DID


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--app-password", "wxyz-wxyz-wxyz-wxyz"], "refused the login of me.test"),
        (["--rkey", "timeline", "--app-password", PASSWORD], "--rkey: the service serves"),
        (["--display-name", "x" * 25, "--app-password", PASSWORD], "--display-name: at most 24"),
        ([], "publish-feed needs --handle and --app-password"),
    ],
)
def test_errors_are_one_line(
    pds: FakePds,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    message: str,
) -> None:
    monkeypatch.delenv("BLUESKY_APP_PASSWORD", raising=False)
    code, out, err = run(capsys, *publish(pds, *extra))
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], err
    assert pds.records == {}


def test_no_network_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    pds = FakePds("me.test", PUBLISHER, PASSWORD)
    url = pds.url
    pds.close()  # nothing listens there any more
    argv = ["bluesky", "publish-feed", "--feedgen-did", SERVICE_DID, "--handle", "me.test"]
    code, _, err = run(capsys, *argv, "--app-password", PASSWORD, "--service", url)
    assert code == 1
    assert err.startswith(f"error: cannot reach {url}: ") and err.count("\n") == 1


def test_a_main_password_is_warned_about(pds: FakePds, capsys: pytest.CaptureFixture[str]) -> None:
    pds.password = "hunter2"
    code, _, err = run(capsys, *publish(pds, "--app-password", "hunter2"))
    assert code == 0
    assert "does not look like an app password" in err
