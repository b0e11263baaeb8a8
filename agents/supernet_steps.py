"""The torch side the weight-sharing searchers share: their supernet, its SGD, one weight step, scoring cells.

:class:`SupernetMethod` is the base of the six searchers. It builds the supernet of the arguments on the
data's device, the weights' SGD (Nesterov, weight decay, the per-epoch cosine learning rate) and the seeded
generators, and runs one epoch as the reference does: one :meth:`SupernetMethod.step` per search batch (a
training batch paired with a validation batch). A method overrides ``step`` and ``derive``.

Two choices hold for every method (and are recorded in their docstrings as deviations):

* a weight step clips the *weights'* gradient (the reference clips ``network.parameters()``, which also holds
  the architecture parameters' gradient left over from the weight step's backward);
* gradients are reset to ``None`` (``zero_grad(set_to_none=True)``, the PyTorch 2 default), so SGD leaves the
  weights of ops a step did not use untouched: no weight decay, no momentum. Under the PyTorch 1.x the
  reference ran on, zeroed gradients let decay and momentum move every op that had been used once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.common import SearchResult
from agents.weight_sharing import SupernetArgs, SupernetSearcher, describe, run_search
from nb201_env.space import NUM_EDGES, NUM_OPS, Arch
from nb201_env.training._torch import torch
from nb201_env.training.runtime import Runtime
from nb201_env.training.search_data import SearchData
from nb201_env.training.supernet import Supernet
from nb201_env.training.trainer import run_context

F = torch.nn.functional
Tensor = torch.Tensor


def correct(logits: Tensor, labels: Tensor) -> Tensor:
    """Return the number of correct top-1 predictions (a tensor: no device sync)."""
    return (logits.detach().argmax(1) == labels).sum()


class SupernetMethod:
    """A weight-sharing searcher's state: data, supernet, weight optimizer, generators; one epoch of steps."""

    name = "supernet"
    reference = ""

    def __init__(self, data: SearchData, args: SupernetArgs, seed: int) -> None:
        self.data, self.args = data, args
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator(device=data.device).manual_seed(int(self.rng.integers(2**62)))
        model = Supernet(data.num_classes, args.channels, args.cells_per_stage, args.affine, args.track_running_stats)
        self.model = model.to(data.device, memory_format=data.normalize.memory_format)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=args.lr,
            momentum=args.momentum,
            nesterov=args.momentum > 0,
            weight_decay=args.weight_decay,
        )
        self.settings: dict[str, Any] = describe(args, self.reference, data)
        self.epoch = 0
        self._sums: dict[str, Tensor] = {}
        self._counts: dict[str, int] = {}

    @property
    def lr(self) -> float:
        """The weights' learning rate in this epoch."""
        return float(self.optimizer.param_groups[0]["lr"])

    def start_epoch(self, epoch: int) -> None:
        """Set the epoch's learning rate and reset its statistics."""
        self.epoch = epoch
        for group in self.optimizer.param_groups:
            group["lr"] = self.args.lr_at(epoch)
        self.model.train()
        self._sums, self._counts = {}, {}

    def track(self, split: str, logits: Tensor, labels: Tensor, loss: Tensor) -> None:
        """Add a batch's loss and correct predictions to the epoch's ``train`` or ``valid`` statistics."""
        n = len(labels)
        self._sums[f"{split}_loss"] = self._sums.get(f"{split}_loss", 0) + loss.detach() * n
        self._sums[f"{split}_accuracy"] = self._sums.get(f"{split}_accuracy", 0) + 100.0 * correct(logits, labels)
        self._counts[split] = self._counts.get(split, 0) + n

    def epoch_stats(self) -> dict[str, float]:
        """Return the epoch's mean losses and accuracies (%)."""
        return {k: float(v) / self._counts[k.split("_")[0]] for k, v in self._sums.items()}

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """Run one :meth:`step` per search batch (training batch + paired validation batch)."""
        self.start_epoch(epoch)
        for x, y, vx, vy in self.data.search_batches(self.args.batch_size):
            self.step(x, y, vx, vy)
        return self.epoch_stats()

    def step(self, x: Tensor, y: Tensor, vx: Tensor, vy: Tensor) -> None:
        """Update weights (and architecture) on one training and one validation batch."""
        raise NotImplementedError

    def derive(self) -> tuple[int, float]:
        """Return the cell the method reports now and its validation accuracy as the method measures it."""
        raise NotImplementedError

    def weight_step(self, loss: Tensor) -> None:
        """Backpropagate ``loss`` into the weights, clip their gradient, take one SGD step."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.args.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.grad_clip)
        self.optimizer.step()

    def train_path(self, x: Tensor, y: Tensor, ops: tuple[int, ...]) -> None:
        """One weight step of the single path ``ops`` on a training batch."""
        logits = self.model(x, path=ops)
        loss = F.cross_entropy(logits, y)
        self.weight_step(loss)
        self.track("train", logits, y, loss)

    def score(self, candidates: list[tuple[int, ...]], batches: Any) -> list[float]:
        """Return each candidate cell's accuracy (%) on the next batch of ``batches``, in eval mode."""
        self.model.eval()
        accuracies = []
        with torch.no_grad():
            for ops, (x, y) in zip(candidates, batches):
                accuracies.append(100.0 * correct(self.model(x, path=ops), y).item() / len(y))
        self.model.train()
        return accuracies

    def best_of(self, candidates: list[tuple[int, ...]], batches: Any) -> tuple[int, float]:
        """Score the candidates and return the best one (the first on ties, as ``np.argmax``) and its accuracy."""
        accuracies = self.score(candidates, batches)
        best = int(np.argmax(accuracies))
        return Arch.from_ops(candidates[best]).index, accuracies[best]


class ArchAdam:
    """Architecture parameters ``alpha`` (6 x 5) with their Adam optimizer (DARTS, GDAS, SETN)."""

    def __init__(self, args: Any, device: torch.device, generator: torch.Generator) -> None:
        init = torch.randn(NUM_EDGES, NUM_OPS, generator=generator, device=device) * args.arch_init_std
        self.alpha = torch.nn.Parameter(init)
        self.optimizer = torch.optim.Adam(
            [self.alpha],
            lr=args.arch_learning_rate,
            betas=(args.arch_beta1, args.arch_beta2),
            weight_decay=args.arch_weight_decay,
        )

    def weights(self) -> Tensor:
        """Return ``softmax(alpha)`` per edge."""
        return self.alpha.softmax(dim=-1)

    def step(self, gradient: Tensor) -> None:
        """Take one Adam step with this gradient of ``alpha``."""
        self.optimizer.zero_grad(set_to_none=True)
        self.alpha.grad = gradient.detach().clone()
        self.optimizer.step()

    def argmax(self) -> int:
        """Return the cell of the largest ``alpha`` on every edge (the reference's ``genotype()``)."""
        return Arch.from_ops(self.alpha.detach().argmax(dim=-1).tolist()).index

    def probabilities(self) -> list[list[float]]:
        """Return ``softmax(alpha)`` as nested lists (recorded with the run)."""
        return [[round(float(p), 5) for p in row] for row in self.weights().detach().cpu()]


def mixed_step_gradient(model: Supernet, alpha: Tensor, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Return ``(d loss / d alpha, logits, loss)`` of the mixed supernet on one batch (no weight gradients)."""
    logits = model(x, weights=alpha.softmax(dim=-1))
    loss = F.cross_entropy(logits, y)
    (gradient,) = torch.autograd.grad(loss, [alpha])
    return gradient, logits, loss


def run_method(
    cls: type[SupernetMethod], data: SearchData, args: SupernetArgs, seed: int, runtime: Runtime | None = None
) -> SearchResult:
    """Build ``cls`` under a seeded run context (threads, determinism) and run its search for ``args.epochs``."""
    runtime = runtime or Runtime(device=str(data.device))
    data.reseed(seed)
    with run_context(seed, runtime, data.device):
        method: SupernetSearcher = cls(data, args, seed)
        result = run_search(method, args.epochs)
    result.settings["threads"] = runtime.threads
    return result
