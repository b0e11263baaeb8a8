"""What the training evaluator trains, on which data, and where it caches: :class:`TrainingConfig`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from nb201_env.names import DATASETS, SEARCH_DATASETS, VALIDATION_OF, check_choice
from nb201_env.training.recipe import Recipe
from nb201_env.training.runtime import Runtime
from nb201_env.training.timing import SECONDS, Seconds
from nb201_env.validate import check_bool

TRAINING_SEED_POLICIES = ("fixed", "random")
"""The seed policies (:data:`nb201_env.evaluators.SEED_POLICIES`) a training run supports: a mean trains every seed."""


@dataclass(frozen=True)
class TrainingConfig:
    """What the training evaluator trains, on which data, and where it caches.

    Args:
        dataset: ``cifar10`` (the signal is ``cifar10-valid``/``x-valid``, as NB201 searches), ``cifar10-valid``,
            ``cifar100`` or ``ImageNet16-120`` (their ``x-valid``).
        root: the dataset: an image folder ``train/<class>/*.jpg`` + ``test/...``, a ``.tar.gz`` of one,
            torchvision's CIFAR python layout, or ImageNet16's official files (:mod:`~nb201_env.training.sources`).
        recipe: the training recipe, or its name (``"nb201-12"``, ``"nb201-200"``, ``"proxy"``,
            ``"proxy-table"``) or dict (default: NB201's 12-epoch search schedule).
        seed_policy: ``"fixed"`` always trains with ``seed``; ``"random"`` draws one of ``seeds`` from the rng.
        seed: the seed of the fixed policy.
        seeds: the seed pool of the random policy (a finite pool, so repeated queries hit the cache).
        test_seed: the seed of runs made for :meth:`TrainingEvaluator.test_accuracy` (default: ``seed``).
        record_test: also score the test split at the end of every run (one more pass, never charged), so that
            :meth:`TrainingEvaluator.test_accuracy` needs no second run; the env sets it with ``report_test``.
        cache: SQLite cache file (``None`` = in memory, lost at exit).
        runtime: execution choices (device, threads, precision, ...), or a dict of them.
        split_dir: folder of the official NB201 split files (default: ``root`` for the official layouts).
        split_seed: seed of the replacement split when the official files are absent.
        data_cache: keep decoded images on disk and load them from there in every later process.
        data_cache_dir: where (default ``$XDG_CACHE_HOME/nb201_env/datasets``).
        download: download the official CIFAR tarball into ``root`` if no CIFAR data is there.
        seconds: which seconds a run costs: ``"cpu"``, ``"wall"`` or ``"auto"`` (CPU seconds on CPU, wall seconds
            on CUDA). Both are recorded with every run.
        progress: show progress bars (decoding, and each run's epochs) on stderr.
    """

    dataset: str = "cifar10"
    root: str | os.PathLike[str] | None = None
    recipe: Recipe = field(default_factory=lambda: Recipe.nb201(12))
    seed_policy: str = "fixed"
    seed: int = 777
    seeds: tuple[int, ...] = (777, 888, 999)
    test_seed: int | None = None
    record_test: bool = False
    cache: str | os.PathLike[str] | None = None
    runtime: Runtime = field(default_factory=Runtime)
    split_dir: str | os.PathLike[str] | None = None
    split_seed: int = 0
    data_cache: bool = True
    data_cache_dir: str | os.PathLike[str] | None = None
    download: bool = False
    seconds: Seconds = "auto"
    progress: bool = False

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, DATASETS)
        check_choice("seed policy", self.seed_policy, TRAINING_SEED_POLICIES)
        check_choice("clock", self.seconds, SECONDS)
        object.__setattr__(self, "recipe", Recipe.coerce(self.recipe))
        object.__setattr__(self, "runtime", Runtime.coerce(self.runtime))
        if not self.seeds or not all(isinstance(s, int) and s >= 0 for s in self.seeds):
            raise ValueError(f"seeds must be a non-empty tuple of ints >= 0, got {self.seeds!r}")
        for name in ("record_test", "data_cache", "download", "progress"):
            check_bool(name, getattr(self, name))

    @property
    def train_dataset(self) -> str:
        """The dataset whose training/validation split is trained and scored."""
        return VALIDATION_OF[self.dataset][0] if self.dataset in SEARCH_DATASETS else self.dataset
