"""The ``nb201`` command: convert data into a store, describe it, query it, verify it.

Results go to stdout, logs and progress bars to stderr; errors are one line and exit status 2."""

from __future__ import annotations

import argparse
import json
import logging
import math
import pickle
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nb201_env import __version__
from nb201_env.helptext import HelpFormatter, plain, prog
from nb201_env.locate import DEFAULT_BENCHMARK, ENV_VAR, default_store, default_store_path, find_store, known_stores
from nb201_env.store.errors import StoreError

log = logging.getLogger("nb201_env.cli")


def _progress(desc: str) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """Return a (callback(done, total), close) pair driving a tqdm bar."""
    from nb201_env.download.progress import arch_progress  # the same bar `nb201 download` shows while converting

    return arch_progress(desc, enabled=True)


def _cmd_convert(args: argparse.Namespace) -> int:
    out = Path(args.output) if args.output else default_store_path()
    update, close = _progress(f"convert {args.kind}")
    try:
        if args.kind == "shared":
            from nb201_env.importers.shared_figures import build_shared_store

            path = build_shared_store(args.source, out, overwrite=args.overwrite)
        elif args.kind == "nats":
            from nb201_env.importers.nats import convert_nats

            path = convert_nats(args.source, out, overwrite=args.overwrite, progress=update)
        else:
            from nb201_env.importers.nb201_pth import convert_nb201_pth

            path = convert_nb201_pth(args.source, out, overwrite=args.overwrite, progress=update)
    finally:
        close()
    print(f"wrote {path}")
    if args.output is None:
        print(f"this is the default location: Benchmark.open() and the environment find it without {ENV_VAR}")
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    from nb201_env.download import describe_known_files, download, fetch_and_convert

    if args.name == "list":
        print(describe_known_files())
        return 0
    if args.no_convert:
        path = download(args.name, args.dir)
    else:
        path = fetch_and_convert(
            args.name, args.dir, Path(args.output) if args.output else None, overwrite=args.overwrite
        )
    print(f"wrote {path}")
    return 0


def _cmd_build_table(args: argparse.Namespace) -> int:
    from nb201_env.training.table import PROXY_RECIPE, TableConfig, build_table

    overrides = {
        k: getattr(args, k)
        for k in (
            "epochs",
            "channels",
            "cells_per_stage",
            "resolution",
            "train_subset",
            "valid_subset",
            "test_subset",
            "batch_size",
        )
    }
    recipe = PROXY_RECIPE.replace(**{k: v for k, v in overrides.items() if v is not None})
    config = TableConfig(
        root=args.data,
        out=args.out,
        cache=args.cache,
        dataset=args.dataset,
        recipe=recipe,
        seed=args.seed,
        workers=args.workers,
        name=args.name,
        time_scale=args.time_scale,
        limit=args.limit,
        data_cache_dir=args.data_cache,
        data_name=args.data_name,
        overwrite=args.overwrite,
        archs_per_step=args.archs_per_step,
        stacking=args.stacking,
        retrain_contended=args.retrain_contended,
        progress=True,
    )
    update, close = _progress("build-table")
    try:
        path = build_table(config, update)
    finally:
        close()
    print(f"wrote {path}")
    return 0


def _cmd_migrate_cache(args: argparse.Namespace) -> int:
    from nb201_env.training.migrate import migrate_cache

    report = migrate_cache(
        args.cache, args.data, split_dir=args.split_dir, split_seed=args.split_seed, data_cache_dir=args.data_cache
    )
    print(report)
    return 0 if report.migrated or not report.left else 1


def _open(store: str | None, verify: str = "lazy") -> Any:
    from nb201_env.benchmark import Benchmark

    return Benchmark.open(find_store(store), verify=verify)  # type: ignore[arg-type]


def _describe(bench: Any) -> dict[str, Any]:
    store = bench.store
    m = store.manifest
    return {
        "name": m.name,
        "path": str(store.path),
        "description": m.description,
        "created": f"{m.created_utc} by {m.created_by}",
        "size_mb": round(store.size_bytes() / 1e6, 2),
        "limitations": list(m.extra.get("limitations", [])),
        "citations": list(m.extra.get("citations", [])),
        "sources": {
            k: {
                "title": s.title,
                "url": s.url,
                "license": s.license,
                "citation": s.citation,
                "estimate": s.estimate,
                "notes": s.notes,
            }
            for k, s in m.sources.items()
        },
        "records": [
            {
                "record": k.name,
                "seeds": r.seeds.kind + (f" {list(r.seeds.seeds)}" if r.seeds.seeds else ""),
                "epochs": "every epoch (constant)" if r.epochs is None else _epochs(r.epochs),
                "source": r.source,
                "estimated_archs": _estimated(store, k, r),
            }
            for k, r in sorted(m.records.items())
        ],
        "stats": [{"stat": k.name, "source": s.source, "unit": s.unit} for k, s in sorted(m.stats.items())],
        "extra": m.extra,
    }


def _estimated(store: Any, key: Any, record: Any) -> int:
    """Return how many architectures hold estimated (not recorded) values in a record."""
    if record.estimate_mask is not None:
        return int(store.estimate_mask(key).sum())
    return store.manifest.num_archs if store.manifest.sources[record.source].estimate else 0


def _epochs(epochs: Sequence[int]) -> str:
    return f"{epochs[0]}..{epochs[-1]}" if len(epochs) > 3 else ", ".join(map(str, epochs))


def _cmd_info(args: argparse.Namespace) -> int:
    from nb201_env.store.reader import DEFAULT_VERIFY, VERIFY_CATCHES

    bench = _open(args.store)
    info = _describe(bench)
    mode = bench.store.verify_mode
    info["verify"] = {"mode": mode, "default": DEFAULT_VERIFY, "catches": VERIFY_CATCHES[mode]}
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"{info['name']}  ({info['size_mb']} MB at {info['path']})\n{info['description']}\ncreated {info['created']}")
    default = " (the default)" if mode == DEFAULT_VERIFY else ""
    print(f"verify mode {mode!r}{default}: {VERIFY_CATCHES[mode]}. `nb201 verify` checks every file now.")
    if info["limitations"]:
        print("\nlacks: " + "; ".join(info["limitations"]))
    print("\nsources:")
    for key, s in info["sources"].items():
        print(f"  {key}: {s['title']}{'  [ESTIMATES]' if s['estimate'] else ''}")
        for label in ("url", "license", "citation"):
            if s[label]:
                print(f"    {label}: {s[label]}")
    print("\nrecords (dataset/split/metric@schedule):")
    for r in info["records"]:
        n = r["estimated_archs"]
        mark = f"  ({n:,} archs estimated)" if n else ""
        print(f"  {r['record']:<42} seeds: {r['seeds']:<22} epochs: {r['epochs']:<24} [{r['source']}]{mark}")
    print("\nstats: " + ", ".join(s["stat"] for s in info["stats"]))
    from nb201_env.zero_cost.command import info_lines

    for line in info_lines(info["extra"]):
        print(line)
    if info["citations"]:
        print("\ncite: " + "\n      ".join(info["citations"]))
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    stores = known_stores()
    try:  # the store `nb201 info` and Benchmark.open() take when none is named
        default: Path | None = default_store().resolve()
    except StoreError as exc:
        default, unusable = None, str(exc)
    marks = [default is not None and k.path.resolve() == default for k in stores]
    if args.json:
        keys = [{"name": k.name, "origin": k.origin, "path": str(k.path), "summary": k.summary, "default": m}
                for k, m in zip(stores, marks)]  # fmt: skip
        print(json.dumps(keys, indent=1))
        return 0
    rows = []
    for k, is_default in zip(stores, marks):
        note = f"  [the name opens the bundled {k.name}; this copy opens by path {k.path}]" if k.shadowed else ""
        rows.append((k.name + (" (default)" if is_default else ""), k.origin, f"{k.summary}{note}"))
    width = max(len(r[0]) for r in rows)
    for name, origin, summary in rows:
        print(f"{name:<{width}}  {origin:<7}  {summary}")
    if default is None:
        print(f"\nno default: {unusable}")
    elif not any(marks):
        print(f"\ndefault (${ENV_VAR}): {default}")
    print(
        f"\nOpen one by name: Benchmark.open(NAME), gym.make(..., store=NAME), nb201 info --store NAME, ${ENV_VAR}=NAME"
    )
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    from nb201_env.isomorphism import class_of, representative_of
    from nb201_env.names import DATASETS
    from nb201_env.space import Arch, index_of
    from nb201_env.validate import check_choice

    if args.dataset is not None:
        check_choice("dataset", args.dataset, DATASETS)
    bench = _open(args.store)
    arch = Arch(index_of(int(args.arch) if args.arch.isdigit() else args.arch))
    values: dict[str, float | None] = {}
    for key in sorted(bench.store.records):
        if args.dataset and key.dataset != args.dataset:
            continue
        v = bench.view(key.dataset, key.split, key.metric, key.schedule).values([arch.index], None, "mean")[0]
        values[key.name] = None if math.isnan(v) else float(v)
    stats = {
        k.name: float(bench.store.stat(k)[arch.index])
        for k in sorted(bench.store.stats)
        if not args.dataset or k.scope == args.dataset
    }
    out = {
        "index": arch.index,
        "arch_str": arch.to_str(),
        "isomorphism_class": class_of(arch),
        "class_representative": representative_of(arch),
        "benchmark": bench.name,
        "values_at_last_epoch_seed_mean": values,
        "stats": {k: (None if math.isnan(v) else v) for k, v in stats.items()},
    }
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"arch {arch.index}: {arch.to_str()}")
    print(f"class {out['isomorphism_class']} (representative {out['class_representative']})")
    print(f"benchmark {bench.name}; values after the last epoch, mean over seeds:")
    for name, v in values.items():
        print(f"  {name:<42} {'missing' if v is None else f'{v:.4f}'}")
    shown = {k: v for k, v in out["stats"].items() if not k.startswith("latency_ms/") or args.all_stats}
    print("stats: " + ", ".join(f"{k}={v:.6g}" for k, v in shown.items() if v is not None))
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    bench = _open(args.store, verify="size")
    bench.store.verify()
    print(
        f"ok: the manifest of {bench.store.path} is sealed and consistent, and every file matches its size, "
        f".npy header and SHA-256 ({bench.store.size_bytes() / 1e6:.1f} MB)"
    )
    return 0


def _cmd_upgrade_store(args: argparse.Namespace) -> int:
    from nb201_env.store.reseal import reseal_store

    path = reseal_store(find_store(args.store))
    print(f"re-sealed {path}: every file matched its checksum; the arrays are unchanged")
    return 0


def _command(sub: Any, name: str, summary: str, details: str = "") -> argparse.ArgumentParser:
    """Add a subcommand: ``summary`` in the list of commands, ``summary`` and ``details`` in its own help."""
    paragraphs = [f"{summary[0].upper()}{summary[1:]}.", *([details] if details else [])]
    description = "\n\n".join(textwrap.fill(text, 100) for text in paragraphs)
    return sub.add_parser(name, help=summary, description=description, formatter_class=HelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``nb201`` command."""
    parser = argparse.ArgumentParser(
        prog=prog("nb201_env.cli", "nb201"), description=plain(__doc__), formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(
        sub,
        "convert",
        "convert official files or the public CSV figures into a store",
        "Reads the source once (the 4.7 GB NB201 .pth streamed through a restricted reader, without torch) and "
        "writes a sealed, memory-mapped store; with no -o, into the cache directory, where Benchmark.open() "
        "and the environments find it.",
    )
    p.add_argument(
        "kind",
        choices=["shared", "nats", "nb201"],
        help="shared: the shared/nb201 CSV folder; "
        "nats: NATS-tss-v1_0-3ffb9-simple/ (dir or .tar) or NATS-tss-v1_0-3ffb9.pickle.pbz2; "
        "nb201: NAS-Bench-201-v1_[01]-*.pth",
    )
    p.add_argument("source", help="the file or folder to convert")
    p.add_argument("-o", "--output", help=f"store directory to write (default: {default_store_path()})")
    p.add_argument("--overwrite", action="store_true", help="replace an existing store at the output")
    p.set_defaults(func=_cmd_convert)

    p = _command(
        sub,
        "download",
        "fetch official files (resumable, verified) and convert them",
        "`nb201 download list` names the known files, their sizes and checksums.",
    )
    p.add_argument("name", help="a known file (nats-tss-simple, nats-tss, nb201-v1_1, nb201-v1_0), or 'list'")
    p.add_argument("--dir", help="where to keep the downloaded file (default: next to the default store)")
    p.add_argument("-o", "--output", help=f"store directory to write (default: {default_store_path()})")
    p.add_argument("--overwrite", action="store_true", help="replace an existing store at the output")
    p.add_argument("--no-convert", action="store_true", help="only download and verify")
    p.set_defaults(func=_cmd_download)

    p = _command(
        sub,
        "build-table",
        "train every isomorphism class with our trainer and write a store",
        "Trains one architecture of each of the 6,466 isomorphism classes (the [train] extra), caches every "
        "result in SQLite (a rerun resumes from it) and writes a store of all 15,625 architectures.",
    )
    p.add_argument(
        "--data",
        required=True,
        help="the dataset: an image folder train/<class>/*.jpg + test/..., its .tar.gz, CIFAR python, ImageNet16",
    )
    p.add_argument("--out", required=True, help="store directory to write")
    p.add_argument("--cache", required=True, help="SQLite result cache: keep it, rerunning the command resumes from it")
    p.add_argument(
        "--dataset", default="cifar10-valid", help="cifar10-valid (also your own folders), cifar100, ImageNet16-120"
    )
    p.add_argument("--workers", type=int, default=2, help="training processes, one thread each")
    p.add_argument("--seed", type=int, default=777, help="seed of the weights and the data order")
    p.add_argument("--name", default="nb201-proxy", help="benchmark name shown in info and reports")
    p.add_argument("--time-scale", type=float, default=1.0, help="multiply measured seconds by this when storing")
    p.add_argument("--limit", type=int, help="train only this many classes (a trial)")
    p.add_argument("--data-cache", help="decoded-image cache folder (default: ~/.cache/nb201_env/datasets)")
    p.add_argument("--data-name", help="how the metadata names the dataset (default: the folder's name)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing store at --out")
    p.add_argument("--archs-per-step", type=int, default=1, help="architectures a worker trains together in one step")
    p.add_argument(
        "--stacking",
        default="auto",
        choices=("auto", "grouped", "per-arch"),
        help="with --archs-per-step > 1: grouped convolutions (GPU) or one call per architecture (CPU); auto picks",
    )
    p.add_argument(
        "--retrain-contended",
        type=float,
        metavar="RATIO",
        help="train again cached runs whose wall time exceeds their CPU time by more than RATIO (e.g. 1.1): "
        "their times, the simulated costs, were inflated by other jobs on the cores",
    )
    for name in (
        "epochs",
        "channels",
        "cells-per-stage",
        "resolution",
        "train-subset",
        "valid-subset",
        "test-subset",
        "batch-size",
    ):
        p.add_argument(f"--{name}", type=int, help="override the proxy recipe")
    p.set_defaults(func=_cmd_build_table)

    p = sub.add_parser(
        "migrate-cache",
        help="move the runs of a training cache written before 0.2 (keyed without the data) to the current key",
    )
    p.add_argument("cache", help="the SQLite result cache (changed in place, in one transaction)")
    p.add_argument("--data", required=True, help="the dataset its runs were trained on (as for build-table)")
    p.add_argument("--split-dir", help="folder of the official split files the runs used, if any")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the seeded split the runs used (default 0)")
    p.add_argument("--data-cache", help="decoded-image cache folder (default: ~/.cache/nb201_env/datasets)")
    p.set_defaults(func=_cmd_migrate_cache)

    store_help = (
        f"benchmark name (see `nb201 list`) or store directory (default: ${ENV_VAR}, else "
        f"{default_store_path()}, else the bundled {DEFAULT_BENCHMARK})"
    )
    from nb201_env.zero_cost import command as zero_cost_command

    zero_cost_command.add_parser(sub, _progress, _command)

    p = _command(
        sub,
        "list",
        "list the benchmarks known by name: bundled and in the cache directory",
        "(default) marks the one opened when none is named (what `nb201 info` describes).",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_list)

    p = _command(
        sub, "info", "describe a store: records, seeds, epochs, sources, licences, size, what it lacks and estimates"
    )
    p.add_argument("--store", help=store_help)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_info)

    p = _command(sub, "query", "show everything recorded for one architecture")
    p.add_argument("arch", help="official index (0..15624) or arch string '|op~0|+|op~0|op~1|+...|'")
    p.add_argument("--store", help=store_help)
    p.add_argument("--dataset", help="only this dataset's records")
    p.add_argument("--all-stats", action="store_true", help="also show every device latency")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_query)

    p = _command(sub, "verify", "check every file of a store against its SHA-256")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func=_cmd_verify)

    p = _command(sub, "upgrade-store", "check and re-seal a store written by an older nb201_env (format 1)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func=_cmd_upgrade_store)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nb201`` command; return its exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.func(args))
    except (OSError, ValueError, TypeError, LookupError, RuntimeError, StoreError, pickle.UnpicklingError) as exc:
        # one clear line, no traceback: refused pickles, bad arguments, damaged stores, missing files
        print(f"nb201 {args.command}: error: {exc}", file=sys.stderr)
        log.info("details (shown with -v):", exc_info=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
