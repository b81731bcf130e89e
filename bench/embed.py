"""Benchmark: embedding throughput on this machine — EfficientNet-Lite0 by CPU torch and by
onnxruntime side by side (the same network, weights and inputs), and all-MiniLM-L6-v2.

Images: ``--images`` photos of ``shared/data/food-photos`` decoded once up front (decoding is
not the model's cost), then encoded in batches of ``--batch`` with ``--threads`` threads;
after one warm-up batch, the best of ``--repeat`` passes is reported (a shared machine's
load only ever slows a pass down), with the process's CPU seconds per item over all passes
and the 1-minute load average before and after. Texts: the photos' titles and all their tags
(``--captions long``, ~100-200 tokens) or titles alone (``short``, a few words, like most
captions).

    python bench/embed.py --threads 2
    python bench/embed.py --threads 2 --backends onnx --captions short,long
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from discovery.embeddings.models import EfficientNetLite0, MiniLM  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "data" / "food-photos"


def best_rate(encode: object, items: list[object], batch: int, repeat: int) -> dict[str, float]:
    """Best items/s over ``repeat`` passes, CPU ms per item (all passes), the load average."""
    encode(items[:batch])  # type: ignore[operator]  # warm-up (allocations, lazy init)
    best, load, cpu = 0.0, os.getloadavg()[0], time.process_time()
    for _ in range(repeat):
        t = time.perf_counter()
        for i in range(0, len(items), batch):
            encode(items[i : i + batch])  # type: ignore[operator]
        best = max(best, len(items) / (time.perf_counter() - t))
    cpu_ms = (time.process_time() - cpu) / (repeat * len(items)) * 1e3
    return {"per_s": best, "cpu_ms_per_item": cpu_ms, "load": [load, os.getloadavg()[0]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=128)
    ap.add_argument("--texts", type=int, default=943)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backends", default="torch,onnx", help="Lite0 runtimes to measure")
    ap.add_argument("--captions", default="long", help="long (title + tags), short (title)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    import torch
    from PIL import Image

    torch.set_num_threads(args.threads)
    meta = json.loads((PHOTOS / "photos.json").read_text())
    images = [Image.open(PHOTOS / "images" / r["id"]).convert("RGB") for r in meta[: args.images]]
    captions = {
        "long": [f"{r['title']} " + " ".join(f"#{t}" for t in r.get("tags") or []) for r in meta],
        "short": [str(r["title"]) for r in meta],
    }
    print(
        f"{platform.machine()}, torch {torch.__version__}, {args.threads} threads, "
        f"batch {args.batch}, load {os.getloadavg()[0]:.1f}"
    )
    rows: dict[str, dict[str, object]] = {}
    encoders = {
        "torch": ("efficientnet-lite0 torch", lambda: EfficientNetLite0("torch", args.threads)),
        "onnx": ("efficientnet-lite0 onnxruntime", lambda: EfficientNetLite0("onnx", args.threads)),
    }
    vecs = {}
    for backend in args.backends.split(",") if args.images else ():
        name, make = encoders[backend]
        t = time.perf_counter()
        enc = make()
        load = time.perf_counter() - t
        rate = best_rate(enc.encode, images, args.batch, args.repeat)
        vecs[name] = enc.encode(images[:8])
        rows[name] = {"load_s": load, "items": len(images), **rate}
        print(f"{name:32} load {load:5.1f} s  {rate}", flush=True)
    if len(vecs) == 2:
        a, b = vecs.values()
        print(f"  torch vs onnxruntime: min cosine of the same image {np.min((a * b).sum(1)):.6f}")
    if args.texts:
        t = time.perf_counter()
        text = MiniLM()
        load = time.perf_counter() - t
        for kind in args.captions.split(","):
            texts = (captions[kind] * (args.texts // len(meta) + 1))[: args.texts]
            rate = best_rate(text.encode, texts, 64, args.repeat)
            rows[f"all-minilm-l6-v2 {kind}"] = {"load_s": load, "items": len(texts), **rate}
            print(f"{'all-minilm-l6-v2 ' + kind:32} load {load:5.1f} s  {rate}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
