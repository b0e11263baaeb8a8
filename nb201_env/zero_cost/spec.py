"""What each zero-cost proxy is: its name, how much data it reads, and which passes it needs (no torch here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

ProxyName = Literal[
    "synflow", "naswot", "jacob_cov", "snip", "grad_norm", "grasp", "fisher", "params", "flops", "naswot_v1"
]

PROXIES: Final[tuple[str, ...]] = (
    "synflow",
    "naswot",
    "jacob_cov",
    "snip",
    "grad_norm",
    "grasp",
    "fisher",
    "params",
    "flops",
)
"""Every proxy, in the order tables list them; higher is better for each (as in the references)."""

TRAINING_FREE: Final[tuple[str, ...]] = PROXIES[:7]
"""The proxies computed on the network at initialisation (``params`` and ``flops`` are analytic)."""

EXTRA_PROXIES: Final[tuple[str, ...]] = ("naswot_v1",)
"""Proxies computed only when asked for (sample builds, the live evaluator), not in the bundled table:
``naswot_v1`` is NASWOT's first-version score as its authors published it (a one-output head, 256 images), kept
to compare with their published scores; ``jacob_cov`` is the same definition as the zero-cost paper used it."""

KNOWN_PROXIES: Final[tuple[str, ...]] = PROXIES + EXTRA_PROXIES

PASSES: Final[dict[str, tuple[str, ...]]] = {
    "synflow": ("build", "synflow"),
    "naswot": ("build", "naswot"),
    "jacob_cov": ("build", "forward", "jacobian"),
    "snip": ("build", "forward", "gradient"),
    "grad_norm": ("build", "forward", "gradient"),
    "fisher": ("build", "forward", "gradient"),
    "grasp": ("build", "forward", "gradient", "hessian"),
    "params": ("analytic",),
    "flops": ("analytic",),
    "naswot_v1": ("build_v1", "jacobian_v1"),
}
"""The timed steps each proxy needs on its own: its cost is their sum, also where several proxies share a step
(:mod:`nb201_env.zero_cost.scorer`)."""


@dataclass(frozen=True)
class ProxySpec:
    """How one proxy reads data: the images of its minibatch (0: none) and a short reference."""

    name: str
    batch_size: int
    reference: str


SPECS: Final[dict[str, ProxySpec]] = {
    spec.name: spec
    for spec in (
        ProxySpec("synflow", 0, "Tanaka et al. NeurIPS 2020; Abdelfattah et al. ICLR 2021 (one all-ones image)"),
        ProxySpec("naswot", 128, "Mellor et al. ICML 2021 (hook_logdet)"),
        ProxySpec("jacob_cov", 64, "Mellor et al. arXiv v1 2020; Abdelfattah et al. ICLR 2021"),
        ProxySpec("snip", 64, "Lee et al. ICLR 2019; Abdelfattah et al. ICLR 2021"),
        ProxySpec("grad_norm", 64, "Abdelfattah et al. ICLR 2021"),
        ProxySpec("grasp", 64, "Wang et al. ICLR 2020; Abdelfattah et al. ICLR 2021"),
        ProxySpec("fisher", 64, "Theis et al. 2018; Turner et al. ICLR 2020; Abdelfattah et al. ICLR 2021"),
        ProxySpec("params", 0, "parameter count in millions (analytic, = the official figure)"),
        ProxySpec("flops", 0, "FLOPs in millions (analytic, = the official figure)"),
        ProxySpec("naswot_v1", 256, "Mellor et al. arXiv v1 2020 (jacobian correlation, one-output head)"),
    )
}

MINIBATCH_SIZE: Final[int] = max(SPECS[name].batch_size for name in PROXIES)
"""Images drawn once per build (128); a proxy reads the first ``batch_size`` of them. ``naswot_v1`` needs 256:
:func:`~nb201_env.zero_cost.minibatch.draw_minibatch` then draws 128 more, keeping the first 128."""

CODE_VERSION: Final[int] = 1
"""Bumped whenever a proxy's definition changes; part of every build key, so old scores are never reused."""
