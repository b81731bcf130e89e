"""What real photographs cost the demo world: the food world beside the drawn one.

    python bench/photos.py [--users 2000] [--repeat 2]

Generates the demo-size world with each theme (``drawn``: a Pillow drawing per post, rendered
by a worker pool; ``food``: the shipped photographs, each framing in use written once), in
alternating child processes so machine load falls on both alike, and prints wall time, CPU
time (the child and its image workers), the database size and the media folder (files, MB).
Figures go to bench/README.md ("Photographs in the demo world").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, sys
from discovery.world import generate_world
s = generate_world(sys.argv[1], "demo", users=int(sys.argv[2]), theme=sys.argv[3], now=1_717_200_000)
print(json.dumps({k: s[k] for k in ("accounts", "posts", "interactions", "theme")}))
"""


def _du(folder: Path) -> tuple[int, float]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files) / 2**20


def run(theme: str, users: int, workdir: Path) -> dict[str, object]:
    db = workdir / f"{theme}.db"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), str(users), theme],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    files, mb = _du(Path(f"{db}.media"))
    row = {
        **json.loads(out.strip().splitlines()[-1]),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "db_mb": round(db.stat().st_size / 2**20, 1),
        "media_files": files,
        "media_mb": round(mb, 1),
        "load_avg": round(os.getloadavg()[0], 1),
    }
    for p in workdir.iterdir():  # the next run starts from an empty folder
        if p.is_dir():
            subprocess.run(["rm", "-rf", str(p)], check=True)
        else:
            p.unlink()
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for theme in ("drawn", "food"):
                rows.append(run(theme, args.users, Path(tmp)))
                print(json.dumps(rows[-1]), flush=True)
    print("\n| theme | posts | wall s | CPU s | db MB | media files | media MB | load avg |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['theme']} | {r['posts']:,} | {r['wall_s']} | {r['cpu_s']} | {r['db_mb']} "
            f"| {r['media_files']:,} | {r['media_mb']} | {r['load_avg']} |"
        )


if __name__ == "__main__":
    main()
