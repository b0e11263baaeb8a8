"""Score one architecture with any set of zero-cost proxies, timing each step so each proxy's own cost is known."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from nb201_env.complexity import flops_m, params_mb
from nb201_env.space import Arch
from nb201_env.training._torch import torch
from nb201_env.training.network import NB201Network
from nb201_env.zero_cost import passes
from nb201_env.zero_cost import proxies as zc
from nb201_env.zero_cost.minibatch import Minibatch
from nb201_env.zero_cost.spec import KNOWN_PROXIES, PASSES, PROXIES, SPECS


@dataclass(frozen=True)
class ProxyScores:
    """The proxies' scores of one architecture and what each costs on its own, in CPU and wall seconds.

    ``steps`` holds the measured ``(cpu, wall)`` seconds of every step run (``build``, ``forward``, ...); a
    proxy's cost is the sum over the steps it needs (:data:`~nb201_env.zero_cost.spec.PASSES`), so proxies
    computed together are each charged what computing them alone needs. CPU seconds are this thread's.
    """

    index: int
    seed: int
    scores: dict[str, float]
    cpu_seconds: dict[str, float]
    wall_seconds: dict[str, float]
    steps: dict[str, tuple[float, float]] = field(default_factory=dict)


class _Timer:
    """Accumulate CPU (this thread) and wall seconds per named step."""

    def __init__(self) -> None:
        self.steps: dict[str, tuple[float, float]] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            yield
        finally:
            old = self.steps.get(name, (0.0, 0.0))
            self.steps[name] = (old[0] + time.thread_time() - cpu, old[1] + time.perf_counter() - wall)


def init_seed(seed: int, index: int) -> int:
    """Return the torch seed of one architecture's initialisation: distinct per (seed, index), reproducible."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0] >> 1)


def check_proxies(names: Sequence[str]) -> tuple[str, ...]:
    """Return ``names`` as a tuple, or raise naming the first unknown proxy and the valid ones."""
    if isinstance(names, str) or not names:
        raise ValueError(
            f"proxies must be a non-empty sequence of names from {', '.join(KNOWN_PROXIES)}; got {names!r}"
        )
    for name in names:
        if name not in KNOWN_PROXIES:
            raise ValueError(f"unknown zero-cost proxy {name!r}; valid proxies are {', '.join(KNOWN_PROXIES)}")
    return tuple(dict.fromkeys(names))


def _build(
    index: int, batch: Minibatch, steps: set[str], device: torch.device, shape: tuple[int, int]
) -> tuple[NB201Network, NB201Network]:
    """Build the network twice with one initialisation: every edge run (naswot) and with dead work skipped."""
    channels, cells = shape
    full = NB201Network(Arch(index), batch.num_classes, channels, cells, prune=False).to(device)
    if not steps & {"synflow", "forward"}:
        return full, full
    pruned = NB201Network(Arch(index), batch.num_classes, channels, cells, prune=True).to(device)
    pruned.load_state_dict(full.state_dict())  # same modules in both: the pruned one only skips dead edges
    return full, pruned


def score(
    index: int,
    batch: Minibatch,
    seed: int,
    names: Sequence[str] = PROXIES,
    device: str | torch.device = "cpu",
    channels: int = 16,
    cells_per_stage: int = 5,
) -> ProxyScores:
    """Score architecture ``index`` with the proxies ``names`` on one network initialised from ``(seed, index)``.

    Every proxy sees the same initial weights (the reference computes each from a copy of one network) and the
    first images of the same minibatch. Torch's global RNG is seeded inside a fork and restored afterwards.
    ``channels`` and ``cells_per_stage`` are NB201's 16 and 5; smaller networks are for tests.
    """
    names = check_proxies(names)
    device = torch.device(device)
    steps = {s for n in names for s in PASSES[n]}
    timer = _Timer()
    result: dict[str, float] = {}
    torch_seed = init_seed(seed, index)
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(torch_seed)
        images = batch.tensor(device)
        labels = torch.from_numpy(batch.labels).to(device)
        if "build" in steps:
            with timer.step("build"):
                full, pruned = _build(index, batch, steps, device, (channels, cells_per_stage))
        if "synflow" in steps:
            with timer.step("synflow"):
                generator = torch.Generator().manual_seed(torch_seed)
                result["synflow"] = zc.synflow(pruned, generator, tuple(images.shape[1:]))
        if "forward" in steps:
            small = SPECS["grad_norm"].batch_size
            with timer.step("forward"):
                fp = passes.shared_forward(pruned, images[:small], labels[:small], input_grad="jacobian" in steps)
            if "jacobian" in steps:
                with timer.step("jacobian"):
                    result["jacob_cov"] = zc.jacob_cov(passes.input_jacobian(fp))
            if "gradient" in steps:
                with timer.step("gradient"):
                    grads = passes.weight_gradients(fp, create_graph="hessian" in steps)
                    result["grad_norm"] = zc.grad_norm(grads)
                    result["snip"] = zc.snip(fp.weights, grads)
                    result["fisher"] = zc.fisher(fp.weights, fp.fisher)
            if "hessian" in steps:
                with timer.step("hessian"):
                    result["grasp"] = zc.grasp(fp.weights, passes.hessian_gradient(fp, grads))
            del fp
        if "naswot" in steps:
            with timer.step("naswot"):
                result["naswot"] = zc.naswot(full, images[: SPECS["naswot"].batch_size])
        if "build_v1" in steps:
            size = SPECS["naswot_v1"].batch_size
            if len(batch) < size:
                raise ValueError(
                    f"naswot_v1 reads {size} images, the minibatch has {len(batch)}: draw it with size={size}"
                )
            with timer.step("build_v1"):
                head = NB201Network(Arch(index), 1, channels, cells_per_stage, prune=True).to(device)
            with timer.step("jacobian_v1"):
                fp = passes.shared_forward(head, images[:size], None, input_grad=True)
                result["naswot_v1"] = zc.jacob_cov(passes.input_jacobian(fp))
                del fp
    if "analytic" in steps:
        with timer.step("analytic"):
            dataset = "cifar10" if batch.dataset == "cifar10-valid" else batch.dataset
            result["params"] = float(params_mb(index, dataset))
            result["flops"] = float(flops_m(index, dataset))
    cpu = {n: sum(timer.steps[s][0] for s in PASSES[n]) for n in names}
    wall = {n: sum(timer.steps[s][1] for s in PASSES[n]) for n in names}
    return ProxyScores(index, seed, {n: result[n] for n in names}, cpu, wall, dict(timer.steps))
