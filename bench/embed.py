"""Benchmark: embedding throughput on this machine — EfficientNet-Lite0 by CPU torch and by
onnxruntime side by side (the same network, weights and inputs), and all-MiniLM-L6-v2.

Images: ``--images`` photos of ``shared/data/food-photos`` decoded once up front (decoding is
not the model's cost), then encoded in batches of ``--batch`` with ``--threads`` threads;
after one warm-up batch, the best of ``--repeat`` passes is reported (a shared machine's
load only ever slows a pass down). Texts: the photos' titles and tags as captions.

    python bench/embed.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from discovery.embeddings.models import EfficientNetLite0, MiniLM  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "data" / "food-photos"


def best_rate(encode: object, items: list[object], batch: int, repeat: int) -> float:
    encode(items[:batch])  # type: ignore[operator]  # warm-up (allocations, lazy init)
    best = 0.0
    for _ in range(repeat):
        t = time.perf_counter()
        for i in range(0, len(items), batch):
            encode(items[i : i + batch])  # type: ignore[operator]
        best = max(best, len(items) / (time.perf_counter() - t))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=128)
    ap.add_argument("--texts", type=int, default=943)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    import torch
    from PIL import Image

    torch.set_num_threads(args.threads)
    meta = json.loads((PHOTOS / "photos.json").read_text())
    images = [Image.open(PHOTOS / "images" / r["id"]).convert("RGB") for r in meta[: args.images]]
    texts = [f"{r['title']} " + " ".join(f"#{t}" for t in r.get("tags") or []) for r in meta]
    texts = (texts * (args.texts // len(texts) + 1))[: args.texts]
    print(
        f"{platform.machine()}, torch {torch.__version__}, {args.threads} threads, "
        f"batch {args.batch}"
    )
    rows = {}
    encoders = {
        "efficientnet-lite0 torch": lambda: EfficientNetLite0("torch", threads=args.threads),
        "efficientnet-lite0 onnxruntime": lambda: EfficientNetLite0("onnx", threads=args.threads),
    }
    vecs = {}
    for name, make in encoders.items() if args.images else ():
        t = time.perf_counter()
        enc = make()
        load = time.perf_counter() - t
        rate = best_rate(enc.encode, images, args.batch, args.repeat)
        vecs[name] = enc.encode(images[:8])
        rows[name] = {"load_s": load, "per_s": rate}
        print(f"{name:32} load {load:5.1f} s  {rate:7.1f} images/s", flush=True)
    if vecs:
        a, b = vecs.values()
        print(f"  torch vs onnxruntime: min cosine of the same image {np.min((a * b).sum(1)):.6f}")
    t = time.perf_counter()
    text = MiniLM()
    load = time.perf_counter() - t
    rate = best_rate(text.encode, texts, 64, args.repeat)
    rows["all-minilm-l6-v2"] = {"load_s": load, "per_s": rate}
    print(f"{'all-minilm-l6-v2 (torch)':32} load {load:5.1f} s  {rate:7.1f} texts/s")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
