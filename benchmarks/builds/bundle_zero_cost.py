"""Write the bundled ``nb201-zero-cost`` store from a zero-cost build cache, computing nothing.

The cache is the checkpoint of ``nb201 build-zero-cost`` (seed 0, minibatch seed 0, CIFAR-10's JPEG copy as an
image folder). The minibatch is drawn again from ``--data`` to name its files in the manifest (so that it can
be rebuilt from the tarball alone) and to check that the cache was built on it: its key must be in the cache.
An unfinished build is written as it is (unscored cells NaN), with each proxy's coverage in the manifest.

    python -m benchmarks.builds.bundle_zero_cost --cache zc.sqlite --data CIFAR10_FOLDER --data-cache DECODED
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
from pathlib import Path

from nb201_env.locate import BUNDLED_DIR
from nb201_env.zero_cost.build import BuildConfig, describe_build, load_minibatch
from nb201_env.zero_cost.cache import ScoreCache
from nb201_env.zero_cost.minibatch import rebuild_account
from nb201_env.zero_cost.table import write_table

log = logging.getLogger("benchmarks.builds")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="the build's SQLite checkpoint")
    parser.add_argument("--data", required=True, help="the CIFAR-10 image folder the build read")
    parser.add_argument("--data-cache", help="folder keeping the decoded images")
    parser.add_argument("--out", type=Path, default=BUNDLED_DIR / "nb201-zero-cost.store", help="store to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = BuildConfig(root=args.data, cache=str(args.cache), data_cache_dir=args.data_cache)
    batch = load_minibatch(config)
    description = describe_build(config, batch)
    with sqlite3.connect(f"file:{args.cache}?mode=ro", uri=True) as db:
        keys = {row[0] for row in db.execute("SELECT build FROM builds")}
    cache = ScoreCache(args.cache, description)
    if cache.key not in keys:
        raise SystemExit(f"{args.cache} holds builds {sorted(keys)}, not {cache.key} of these data and settings")
    with cache:
        path = write_table(cache, args.out, overwrite=True, minibatch=rebuild_account(args.data, batch))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
