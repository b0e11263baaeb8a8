"""ENAS (an LSTM controller trained by REINFORCE over shared weights) on the NB201 supernet, as NB201 ran it.

What it is
    Pham et al., "Efficient Neural Architecture Search via Parameter Sharing", ICML 2018, as benchmarked in
    NB201 (``exps/NAS-Bench-201-algos/ENAS.py``, ``search_model_enas{,_utils}.py`` in D-X-Y/AutoDL-Projects).
    A two-layer LSTM controller emits the six ops edge by edge: logits ``2.5 tanh(W h / 5)``, one sample per
    edge, the sampled op's embedding fed to the next step. Each epoch:

    1. shared weights: one pass over the training half; every batch trains the single path of one cell
       sampled from the controller (SGD, gradient clipped to 5);
    2. controller: ``train_steps x num_aggregate`` samples, each scored (accuracy in [0, 1], shared network in
       eval mode) on one augmented batch of the validation half; reward ``r = accuracy + 1e-4 * entropy``;
       loss ``-log p(cell) (r - b) / num_aggregate``; after every ``num_aggregate`` samples the gradient is
       clipped to 5 and Adam steps. The baseline is the reference's: ``b = accuracy`` in the first epoch, then
       ``b = B - (1 - 0.99) (B - r)`` with ``B`` the last ``b`` of the previous epoch (fixed within an epoch).

    Derived cell: the best of ``derive_samples`` controller samples, each scored on one augmented validation
    batch after the epoch. Reported: the last epoch's.

Reference settings
    ``configs/nas-benchmark/algos/ENAS.config``: 250 epochs, batch 128, SGD lr 0.05 with a cosine of period 10
    epochs (``T_max 10``) down to 0.0005, Nesterov 0.9, weight decay 2.5e-4; controller Adam lr 0.001, betas
    (0, 0.999), eps 0.001. ``scripts-search/NAS-Bench-201-algos/ENAS.sh``: entropy weight 1e-4, baseline decay
    0.99, 50 train steps x 20 aggregated samples, C=16, N=5, BN=1. Controller: LSTM size 32, 2 layers, tanh
    constant 2.5, temperature 5, ``U(-0.1, 0.1)`` initial input, embedding, first-layer and prediction weights;
    ``get_best_arch`` scores 10 samples.

Deviations
    The reward's entropy bonus is detached (the reference lets ``-log p * (r - b)`` backpropagate into the
    entropy through ``r`` and ``b``, a term 1e-4 times the policy gradient's size); ``None`` gradients and the
    weights-only clip as in :mod:`agents.supernet_steps`; no per-epoch full validation pass of the chosen cell.
    The ``num_aggregate`` samples of one update are drawn as one batch of the LSTM (the reference draws them one
    at a time, interleaved with scoring): the same distribution and the same summed gradient, 20x fewer calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from agents.common import SearchResult
from agents.supernet_steps import SupernetMethod, correct, run_method
from agents.weight_sharing import SupernetArgs
from nb201_env.space import NUM_EDGES, NUM_OPS
from nb201_env.training._torch import torch
from nb201_env.training.runtime import Runtime
from nb201_env.training.search_data import SearchData
from nb201_env.validate import check_int, check_real

nn = torch.nn
Tensor = torch.Tensor
WEIGHT_SHARING = True


@dataclass(frozen=True)
class Args(SupernetArgs):
    """Settings of ENAS (defaults: the NB201 reference)."""

    epochs: int = 250
    batch_size: int = 128
    lr: float = 0.05
    eta_min: float = 0.0005
    cosine_epochs: int | None = 10
    weight_decay: float = 0.00025
    controller_lr: float = 0.001
    """Adam learning rate of the controller."""
    controller_beta1: float = 0.0
    """Adam's first-moment decay for the controller."""
    controller_beta2: float = 0.999
    """Adam's second-moment decay for the controller."""
    controller_eps: float = 0.001
    """Adam's denominator term for the controller."""
    controller_grad_clip: float = 5.0
    """Clip the controller's aggregated gradient to this norm."""
    entropy_weight: float = 1e-4
    """Weight of the policy's entropy in the reward."""
    baseline_decay: float = 0.99
    """Decay of the reward baseline."""
    controller_train_steps: int = 50
    """Controller updates per epoch."""
    controller_num_aggregate: int = 20
    """Samples whose gradients one controller update averages."""
    derive_samples: int = 10
    """Controller samples scored to derive a cell after each epoch."""
    lstm_size: int = 32
    """Hidden size of the controller's LSTM."""
    lstm_layers: int = 2
    """Layers of the controller's LSTM."""
    tanh_constant: float = 2.5
    """Logits are ``tanh_constant * tanh(logits / temperature)``."""
    temperature: float = 5.0
    """Divides the logits before the tanh."""

    def __post_init__(self) -> None:
        super().__post_init__()
        counts = ("controller_train_steps", "controller_num_aggregate", "derive_samples", "lstm_size", "lstm_layers")
        for name in counts:
            check_int(name, getattr(self, name), low=1)
        for name in ("controller_lr", "controller_eps", "controller_grad_clip", "tanh_constant", "temperature"):
            check_real(name, getattr(self, name), positive=True)
        for name in ("controller_beta1", "controller_beta2", "baseline_decay"):
            if not 0 <= check_real(name, getattr(self, name)) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if check_real("entropy_weight", self.entropy_weight) < 0:
            raise ValueError(f"entropy_weight must be >= 0, got {self.entropy_weight!r}")


class Controller(nn.Module):
    """The ENAS controller of NB201: an LSTM that emits one op per edge, each fed back as an embedding."""

    def __init__(self, lstm_size: int = 32, lstm_layers: int = 2, tanh_constant: float = 2.5, temperature: float = 5.0):
        super().__init__()
        self.tanh_constant, self.temperature = tanh_constant, temperature
        self.input_vars = nn.Parameter(torch.empty(1, 1, lstm_size))
        self.lstm = nn.LSTM(input_size=lstm_size, hidden_size=lstm_size, num_layers=lstm_layers)
        self.embed = nn.Embedding(NUM_OPS, lstm_size)
        self.pred = nn.Linear(lstm_size, NUM_OPS)
        lstm = self.lstm
        for tensor in (self.input_vars, lstm.weight_hh_l0, lstm.weight_ih_l0, self.embed.weight, self.pred.weight):
            nn.init.uniform_(tensor, -0.1, 0.1)

    def forward(
        self, samples: int = 1, generator: torch.Generator | None = None, ops: list[tuple[int, ...]] | None = None
    ) -> tuple[Tensor, Tensor, list[tuple[int, ...]]]:
        """Sample ``samples`` cells at once (or score the given ``ops``); return per cell ``log p``, the summed
        entropy of its six choices, and the cells (a batch of independent samples: the same distribution and
        gradients as one at a time)."""
        n = samples if ops is None else len(ops)
        inputs, state = self.input_vars.expand(1, n, -1), None
        log_prob = entropy = torch.zeros(n, device=self.input_vars.device)
        chosen = []
        for edge in range(NUM_EDGES):
            out, state = self.lstm(inputs, state)
            logits = self.tanh_constant * torch.tanh(self.pred(out[0]) / self.temperature)
            log_p = logits.log_softmax(dim=-1)
            if ops is None:
                op = torch.multinomial(log_p.detach().exp(), 1, generator=generator).view(-1)
            else:
                op = torch.tensor([cell[edge] for cell in ops], device=logits.device)
            chosen.append(op)
            log_prob = log_prob + log_p.gather(1, op[:, None]).view(-1)
            entropy = entropy + -(log_p.exp() * log_p).sum(dim=-1)
            inputs = self.embed(op)[None]
        cells = [tuple(int(o) for o in cell) for cell in torch.stack(chosen, dim=1).tolist()]
        return log_prob, entropy, cells


class Enas(SupernetMethod):
    """ENAS: shared weights trained on controller samples, the controller trained by REINFORCE on accuracy."""

    name = "enas"
    reference = "NB201 ENAS (AutoDL-Projects exps/NAS-Bench-201-algos/ENAS.py)"

    def __init__(self, data: SearchData, args: Args, seed: int) -> None:
        super().__init__(data, args, seed)
        self.controller = Controller(args.lstm_size, args.lstm_layers, args.tanh_constant, args.temperature)
        self.controller.to(data.device)
        self.controller_optimizer = torch.optim.Adam(
            self.controller.parameters(),
            lr=args.controller_lr,
            betas=(args.controller_beta1, args.controller_beta2),
            eps=args.controller_eps,
        )
        self.baseline: float | None = None  # B: the last baseline of the previous epoch

    def sample(self, samples: int = 1) -> list[tuple[int, ...]]:
        """Draw cells from the controller (no gradient)."""
        with torch.no_grad():
            return self.controller(samples, self.generator)[2]

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """Train the shared weights on controller samples, then the controller."""
        self.start_epoch(epoch)
        for x, y in self.data.train_batches(self.args.batch_size):
            self.train_path(x, y, self.sample()[0])
        self.model.eval()
        batches = self.data.valid_batches(self.args.batch_size, augmented=True)
        rewards, baseline = [], self.baseline
        for _ in range(self.args.controller_train_steps):
            step_rewards, baseline = self.controller_step(batches)
            rewards += step_rewards
        self.baseline = baseline
        self.model.train()
        self._sums["controller_reward"] = torch.tensor(sum(rewards) / len(rewards))
        self._counts["controller"] = 1
        return self.epoch_stats()

    def controller_step(self, batches: Iterator[tuple[Tensor, Tensor]]) -> tuple[list[float], float | None]:
        """One controller update: ``num_aggregate`` samples, each scored on the next batch, their mean
        REINFORCE loss ``-log p (r - b)`` backpropagated, the gradient clipped, one Adam step.

        Returns the rewards and the last sample's baseline (which becomes ``B`` of the next epoch).
        """
        args = self.args
        log_prob, entropy, cells = self.controller(args.controller_num_aggregate, self.generator)
        with torch.no_grad():
            scores = [correct(self.model(vx, path=cell), vy).item() / len(vy) for cell, (vx, vy) in zip(cells, batches)]
        accuracy = torch.tensor(scores)
        reward = accuracy + args.entropy_weight * entropy.detach().cpu()
        if self.baseline is None:  # the reference's first epoch: the baseline is the accuracy itself
            baseline = accuracy
        else:
            baseline = self.baseline - (1 - args.baseline_decay) * (self.baseline - reward)
        advantage = (reward - baseline).to(log_prob.device)
        self.controller_optimizer.zero_grad(set_to_none=True)
        (-(log_prob * advantage).sum() / args.controller_num_aggregate).backward()
        torch.nn.utils.clip_grad_norm_(self.controller.parameters(), args.controller_grad_clip)
        self.controller_optimizer.step()
        return reward.tolist(), float(baseline[-1])

    def derive(self) -> tuple[int, float]:
        """Score ``derive_samples`` controller samples on augmented validation batches; return the best."""
        candidates = self.sample(self.args.derive_samples)
        return self.best_of(candidates, self.data.valid_batches(self.args.batch_size, augmented=True))


def search(data: SearchData, args: Args, seed: int, runtime: Runtime | None = None) -> SearchResult:
    """Run ENAS for ``args.epochs`` epochs on ``data``; the result's times are wall seconds."""
    return run_method(Enas, data, args, seed, runtime)
