"""Loading CIFAR-10 (60,000 JPEGs) three ways, each against its baseline in the same run.

1. First decode of the image folder by ``nb201_env`` (threads over contiguous chunks, Pillow's JPEG decoder
   on the bytes) vs a plain single-threaded Pillow loop over the same files
   (``np.asarray(Image.open(p).convert("RGB"))``), rounds alternating.
2. First decode of the ``.tar.gz`` itself (read in place, nothing extracted) vs the same plain loop.
3. A cached load (``load_image_set`` from the decoded-image cache: fingerprint, index, ``np.load``) vs
   ``np.load`` of the same four arrays.

Wall and CPU seconds are both printed; on a machine shared with other jobs compare the CPU seconds, and the
wall ratios of runs made back to back.

    python -m benchmarks.perf.data_load [--rounds 2] [--limit 60000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import table
from benchmarks.perf.cifar import folder, tarball


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Return (wall, CPU) seconds of one call (CPU: every thread of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def plain_pil(paths: list[Path]) -> np.ndarray:
    """The baseline: decode every file in order, one thread."""
    from PIL import Image

    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each measurement")
    parser.add_argument("--limit", type=int, default=60000, help="images for the decode comparison (all: 60000)")
    args = parser.parse_args()

    from nb201_env.training import images
    from nb201_env.training.datacache import DecodedCache
    from nb201_env.training.dataset import load_image_set
    from nb201_env.training.sources import find_source

    root = folder()
    _, listing = images.list_folder(root)
    paths = [p for split in ("train", "test") for p, _ in listing[split]][: args.limit]
    rows, best = [], {}
    for _ in range(args.rounds):
        for name, fn in (
            ("plain single-threaded PIL loop", lambda: plain_pil(paths)),
            ("nb201_env decode, folder", lambda: images.decode_all(paths, [str(p) for p in paths])),
        ):
            wall, cpu = timed(fn)
            best[name] = min(best.get(name, (np.inf, np.inf)), (wall, cpu))
    if args.limit >= 60000:
        best["nb201_env decode, .tar.gz in place"] = min(timed(lambda: images.decode_tarball(tarball()))
                                                          for _ in range(args.rounds))  # fmt: skip
    base = best["plain single-threaded PIL loop"]
    for name, (wall, cpu) in best.items():
        rows.append((name, f"{wall:.2f}", f"{base[0] / wall:.2f}x", f"{cpu:.2f}", f"{base[1] / cpu:.2f}x"))
    print(f"decoding {len(paths)} CIFAR-10 JPEGs ({os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; best "
          f"of {args.rounds})")  # fmt: skip
    print(table(rows, ("decoder", "wall s", "speed-up (wall)", "CPU s", "speed-up (CPU)")))

    with tempfile.TemporaryDirectory() as scratch:
        cache = DecodedCache(scratch)
        source = find_source("cifar10", root)
        raw = load_image_set(source, cache)  # decode once and cache
        arrays = [Path(scratch) / raw.content_id / f"{part}.npy" for part in
                  ("train_images", "train_labels", "test_images", "test_labels")]  # fmt: skip
        loads: dict[str, tuple[float, float]] = {}
        for _ in range(max(3, args.rounds)):
            for name, fn in (
                ("np.load of the four arrays", lambda: [np.load(p) for p in arrays]),
                ("cached load_image_set", lambda: load_image_set(source, cache)),
            ):
                loads[name] = min(loads.get(name, (np.inf, np.inf)), timed(fn))
        base = loads["np.load of the four arrays"]
        rows = [(name, f"{w * 1e3:.0f}", f"{w / base[0]:.2f}x") for name, (w, _) in loads.items()]
        print(f"\nloading the decoded dataset ({sum(p.stat().st_size for p in arrays) / 1e6:.0f} MB) from the cache")
        print(table(rows, ("load", "wall ms (best)", "vs np.load")))


if __name__ == "__main__":
    main()
