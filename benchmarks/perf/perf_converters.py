"""Time the official-file converters on full-size synthetic files and the streaming pickle parser.

1. Writes a synthetic NATS ``-simple`` archive (default: all 15,625 archs) with ``nb201_env.testing`` into
   ``--workdir`` (reused when it is already complete) and times ``convert_nats`` on it in a fresh process,
   reporting seconds, archs/s and that process's peak RSS (ru_maxrss, which includes the memory-mapped
   output arrays) and peak anonymous RSS (sampled from /proc: the converter's own heap).
2. Builds NATS-like (protocol 4) and NB201-like (protocol 2) single pickles of ``--stream-archs`` archs and
   times ``Arch2InfosStream`` against ``pickle._Unpickler`` (pure Python, same allowlist) on the same bytes
   (best CPU time of ``--repeat`` runs each).

Usage: ``python -m benchmarks.perf.perf_converters [--workdir DIR] [--archs N] [--workers 2] [--stream-archs 200]``
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import pickle
import pickletools
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import best_cpu
from nb201_env.importers import pickle_splice
from nb201_env.importers.nats import convert_nats
from nb201_env.importers.pickle_stream import Arch2InfosStream
from nb201_env.importers.safe_unpickle import RestrictedUnpickler, resolve_global
from nb201_env.space import NUM_ARCHS, arch_str
from nb201_env.testing import official_files as fixtures


class _PyRestricted(pickle._Unpickler):  # type: ignore[name-defined]
    def find_class(self, module: str, name: str) -> Any:
        return resolve_global(module, name)


def _archive(workdir: Path, archs: int, workers: int) -> tuple[Path, float | None]:
    folder = workdir / fixtures.NATS_DIR_NAME
    marker = workdir / f"complete-{archs}"
    if marker.exists():
        return folder, None
    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    fixtures.write_nats_dir(folder, range(archs), np.random.default_rng(0), workers=workers)
    marker.touch()
    return folder, time.perf_counter() - start


def _rss_anon_mb() -> float:
    """Return this process's anonymous resident memory (the Python heap, without mapped store files)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _convert_child(folder: str, out: str, queue: Any) -> None:
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:  # the peak of anonymous memory: ru_maxrss also counts the mapped output arrays
        while not done.wait(0.1):
            peak[0] = max(peak[0], _rss_anon_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    convert_nats(folder, out, overwrite=True)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put((seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, peak[0]))


def _time_convert(folder: Path, out: Path) -> tuple[float, float, float, float]:
    ctx = mp.get_context("spawn")  # a fresh process: its peak RSS is the converter's alone
    queue = ctx.Queue()
    proc = ctx.Process(target=_convert_child, args=(str(folder), str(out), queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _stream_bytes(archs: int, protocol: int) -> bytes:
    make = fixtures.nats_arch if protocol == 4 else fixtures.nb201_arch
    buf = io.BytesIO()
    header = {"meta_archs": [arch_str(i) for i in range(NUM_ARCHS)], "total_archs": NUM_ARCHS}
    entries = ((i, make(i, 7)) for i in range(archs))
    pickle_splice.write_arch_pickle(buf, header, entries, {"evaluated_indexes": list(range(archs))}, protocol=protocol)
    return buf.getvalue()


def _stream_rows(archs: int, repeat: int) -> list[tuple[str, ...]]:
    rows = []
    for protocol, label in ((4, "NATS single file (protocol 4)"), (2, "NB201 .pth main object (protocol 2)")):
        data = _stream_bytes(archs, protocol)
        opcodes = sum(1 for _ in pickletools.genops(data))
        t_stream = best_cpu(lambda data=data: sum(1 for _ in Arch2InfosStream(io.BytesIO(data))), repeat)
        t_py = best_cpu(lambda data=data: _PyRestricted(io.BytesIO(data)).load(), repeat)
        t_c = best_cpu(lambda data=data: RestrictedUnpickler(io.BytesIO(data)).load(), repeat)
        rows.append(
            (
                label,
                f"{len(data) / 1e6:.0f} MB",
                f"{opcodes / 1e6:.2f} M",
                f"{t_stream / opcodes * 1e9:.0f} ns ({opcodes / t_stream / 1e6:.2f} M/s)",
                f"{t_py / opcodes * 1e9:.0f} ns",
                f"{t_py / t_stream:.2f}x",
                f"{t_c / opcodes * 1e9:.0f} ns",
                f"{600e6 * t_stream / opcodes / 60:.1f} min",
            )
        )
    return rows


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths)) for row in [header, *rows]]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, help="where to write (and reuse) the synthetic archive")
    parser.add_argument("--archs", type=int, default=NUM_ARCHS, help="archs in the synthetic archive")
    parser.add_argument("--workers", type=int, default=2, help="processes that write the archive")
    parser.add_argument("--stream-archs", type=int, default=200, help="archs in the single-pickle streams")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many stream timings")
    parser.add_argument("--skip-convert", action="store_true", help="only time the stream parser")
    args = parser.parse_args()

    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="nb201-perf-")
        args.workdir = Path(tmp.name)
    args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        if not args.skip_convert:
            folder, made = _archive(args.workdir, args.archs, args.workers)
            seconds, cpu, rss, anon = _time_convert(folder, args.workdir / "store")
            size = sum(p.stat().st_size for p in folder.iterdir())
            print(
                _table(
                    (
                        "convert_nats on synthetic -simple dir",
                        "archs",
                        "input",
                        "seconds",
                        "CPU s (all threads)",
                        "archs/s",
                        "peak RSS",
                        "peak anon RSS",
                        "archive written in",
                    ),
                    [
                        (
                            "directory",
                            str(args.archs),
                            f"{size / 1e9:.2f} GB",
                            f"{seconds:.1f}",
                            f"{cpu:.1f}",
                            f"{args.archs / seconds:.0f}",
                            f"{rss:.0f} MB",
                            f"{anon:.0f} MB",
                            "reused" if made is None else f"{made:.0f} s",
                        )
                    ],
                )
            )
            print()
        print(
            _table(
                (
                    "stream vs pickle._Unpickler",
                    "bytes",
                    "opcodes",
                    "stream / opcode",
                    "_Unpickler / op",
                    "speed-up",
                    "C pickle / op",
                    "600M ops at this rate",
                ),
                _stream_rows(args.stream_archs, args.repeat),
            )
        )
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
