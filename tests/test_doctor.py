"""store.doctor on both backends: the same poisoned rows found, moved, and nothing else touched.

(The end-to-end case of issue 10 — info and feed failing before ``doctor --fix`` and working
after — is in test_poison.py, on SQLite, whose loose typing lets any value in.)
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from discovery.sources import import_csv
from discovery.store import Store
from discovery.store.doctor import diagnose, repair

NOW = int(time.time())


def rows(store: Store, sql: str) -> list[tuple]:
    return [tuple(r) for r in store._fetch(sql, ())]


def world(store: Store, folder: Path) -> None:
    folder.mkdir()
    files = {
        "accounts": "id,handle\n1,ana\n2,bo\n3,cy\n",
        "follows": "src,dst\n1,2\n2,3\n3,1\n",
        "posts": f"id,author,taken_at,caption,like_count\n10,2,{NOW - 99},bo #a,1\n"
        f"11,3,{NOW - 98},cy #b,2\n12,1,{NOW - 97},ana #a,3\n",
        "interactions": f"user,post,kind,created_at\n1,10,like,{NOW - 9}\n2,11,like,{NOW - 8}\n",
    }
    paths = {}
    for kind, text in files.items():
        paths[kind] = folder / f"{kind}.csv"
        paths[kind].write_text(text, encoding="utf-8")
    import_csv(store, **paths)


def key_id(store: Store, table: str, key: str) -> int:
    return store.ids_for_keys(table, [key])[key]


def test_doctor_finds_and_moves_the_same_rows_on_both_backends(
    store_url: str, tmp_path: Path
) -> None:
    with Store.open(store_url) as store:
        world(store, tmp_path / "files")
        assert diagnose(store, now=NOW) == []
        bo, post10, post11 = (
            key_id(store, "accounts", "csv:2"),
            key_id(store, "posts", "csv:10"),
            key_id(store, "posts", "csv:11"),
        )
        with store.transaction():  # values only an older version (or a hand edit) could write
            store._exec("UPDATE posts SET taken_at = ? WHERE id = ?", (99_999_999_999_999, post10))
            store._exec("UPDATE posts SET like_count = ? WHERE id = ?", (10**12, post11))
            store._exec("UPDATE accounts SET handle = ? WHERE id = ?", ("b\u202eo", bo))
            store._exec(
                "INSERT INTO follows (src, dst, created_at, seq) VALUES (?, ?, ?, ?)",
                (bo, 777, NOW, 1),
            )
            store._exec("UPDATE meta SET value = ? WHERE key = 'now'", ("99999999999999",))
        before = {t: rows(store, f"SELECT * FROM {t}") for t in ("posts", "accounts", "follows")}

        found = diagnose(store, now=NOW)
        assert {t: rows(store, f"SELECT * FROM {t}") for t in before} == before  # report only
        reasons = {(p.table, p.reason.split(";")[0]) for p in found}
        assert ("posts", "taken_at outside year 1 … a day after now") in reasons
        assert ("posts", "like_count outside 0 … 2**31-1") in reasons
        assert (
            "accounts",
            "handle: 'b\\u202eo' contains a control or format character (U+202E)",
        ) in reasons
        assert ("meta", "now outside year 1 … a day after now") in reasons
        # bo's posts, follows and likes depend on bo: they go too
        assert {p.table for p in found} == {
            "posts",
            "accounts",
            "follows",
            "interactions",
            "post_hashtags",
            "meta",
        }

        moved = repair(store, now=NOW)
        assert sorted(map(str, moved)) == sorted(map(str, found))
        assert diagnose(store, now=NOW) == []
        held = rows(store, "SELECT table_name, row_json, reason FROM quarantine")
        assert len(held) == len(moved)
        assert {"id": post10}.items() <= json.loads(
            next(r for t, r, why in held if t == "posts" and "taken_at" in why)
        ).items()
        # what nothing poisoned stays: ana, cy and their follow, ana's post
        assert rows(store, "SELECT handle FROM accounts ORDER BY handle") == [("ana",), ("cy",)]
        assert int(store.get_meta("now") or 0) <= NOW
