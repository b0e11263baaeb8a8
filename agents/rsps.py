"""RSPS (random search with parameter sharing) on the NB201 supernet, as NAS-Bench-201 ran it.

What it is
    Li & Talwalkar, "Random Search and Reproducibility for Neural Architecture Search", UAI 2019, as
    benchmarked in NB201 under the name RSPS (``exps/NAS-Bench-201-algos/RANDOM-NAS.py``,
    ``search_model_random.py`` in D-X-Y/AutoDL-Projects). There are no architecture parameters: every weight
    step trains one cell drawn uniformly (one op per edge) on a training batch (SGD, gradient clipped to 5).
    After each epoch ``select_num`` cells drawn uniformly are scored with the shared weights, each on one
    batch of the validation half (no augmentation, eval mode); the best is the derived cell. Reported: the
    last epoch's.

Reference settings
    ``configs/nas-benchmark/algos/RANDOM.config``: 250 epochs, batch 64, test batch 512, SGD lr 0.025 -> 0.001
    cosine, Nesterov 0.9, weight decay 5e-4; ``scripts-search/NAS-Bench-201-algos/RANDOM-NAS.sh``:
    ``--select_num 100``, C=16, N=5, BN=1; gradient clip 5.

Deviations
    The clip acts on the weights' gradient and unused weights keep ``None`` gradients
    (:mod:`agents.supernet_steps`). The reference's search loader also draws a validation batch per step,
    which RSPS never reads; we draw it too, so that every method sees the same stream of training batches.
    No per-epoch validation pass of random cells (logging only in the reference).
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.common import SearchResult
from agents.supernet_steps import SupernetMethod, run_method
from agents.weight_sharing import SupernetArgs, uniform_ops
from nb201_env.training._torch import torch
from nb201_env.training.runtime import Runtime
from nb201_env.training.search_data import SearchData
from nb201_env.validate import check_int

Tensor = torch.Tensor
WEIGHT_SHARING = True


@dataclass(frozen=True)
class Args(SupernetArgs):
    """Settings of RSPS (defaults: the NB201 reference)."""

    epochs: int = 250
    """Search epochs (``RANDOM.config``)."""
    select_num: int = 100
    """Uniformly drawn cells scored after each epoch."""
    eval_batch_size: int = 512
    """Validation images scoring each candidate (``test_batch_size``)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("select_num", self.select_num, low=1)
        check_int("eval_batch_size", self.eval_batch_size, low=1)


class Rsps(SupernetMethod):
    """RSPS: uniform single-path weight steps; the best of ``select_num`` uniform cells after each epoch."""

    name = "rsps"
    reference = "NB201 RSPS (AutoDL-Projects exps/NAS-Bench-201-algos/RANDOM-NAS.py)"

    def step(self, x: Tensor, y: Tensor, vx: Tensor, vy: Tensor) -> None:
        """Weight step of one uniformly drawn cell on ``(x, y)``."""
        self.train_path(x, y, uniform_ops(self.rng))

    def derive(self) -> tuple[int, float]:
        """Score ``select_num`` uniform cells on validation batches; return the best and its accuracy."""
        candidates = [uniform_ops(self.rng) for _ in range(self.args.select_num)]
        return self.best_of(candidates, self.data.valid_batches(self.args.eval_batch_size))


def search(data: SearchData, args: Args, seed: int, runtime: Runtime | None = None) -> SearchResult:
    """Run RSPS for ``args.epochs`` epochs on ``data``; the result's times are wall seconds."""
    return run_method(Rsps, data, args, seed, runtime)
