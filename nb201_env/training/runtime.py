"""Execution choices of a training run: device, threads, precision, memory format, determinism.

None of these is part of the recipe: they change speed and float rounding, not what is trained. Those that
change the numbers (:meth:`Runtime.numerics`) are part of the cache key, so a run is never served to a
request made with other settings. Importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from nb201_env.names import check_choice

if TYPE_CHECKING:
    import torch

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
EVAL_EPOCHS = ("all", "last")
STACKINGS = ("auto", "grouped", "per-arch")
Stacking = Literal["auto", "grouped", "per-arch"]


@dataclass(frozen=True)
class Runtime:
    """How to execute a recipe (the parts that change float results are part of the cache key).

    Args:
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:<i>"``.
        threads: torch threads of a run (``torch.set_num_threads`` while it trains; ``None`` = 1). One thread is
            the default because more multiply the cost: on a 2-core machine shared with other jobs, two threads made
            the NB201 recipe 2.5x slower in wall time and 3.1x in CPU time, and the proxy recipe 10x and 18x
            (``python -m benchmarks.perf.threads``); use worker processes (one thread each) for parallelism.
            Part of the cache key on CPU: float results change with the thread count.
        precision: ``"auto"`` = AMP on CUDA (bf16 where supported, else fp16) and float32 on CPU;
            ``"bfloat16"`` also enables CPU autocast (uses AVX512-BF16 where the CPU has it).
        channels_last: NHWC memory format (faster convolutions on CPU and tensor-core GPUs).
        deterministic: ``torch.use_deterministic_algorithms`` during the run (reproducible bits on one machine).
        eval_batch_size: batch size of evaluation passes.
        eval_epochs: ``"all"`` scores the validation split after every epoch (full curves); ``"last"`` only after
            the last one (cheaper; curves then hold NaN elsewhere).
        compile: wrap the model in ``torch.compile`` (slow to start: pays off only for long schedules).
        archs_per_step: train this many architectures together in one model step
            (:mod:`nb201_env.training.batched_trainer`); 1 trains each alone.
        stacking: how stacked architectures are computed: ``"grouped"`` (channels stacked, each op kind once
            per edge as a grouped convolution: fewest kernel launches, for GPUs), ``"per-arch"`` (one call per
            architecture and op, shared data and optimizer step: fastest on small CPUs, where grouped
            convolutions are slower than separate ones), ``"auto"`` (grouped on CUDA, per-arch on CPU).
    """

    device: str = "auto"
    threads: int | None = None
    precision: str = "auto"
    channels_last: bool = True
    deterministic: bool = False
    eval_batch_size: int = 1024
    eval_epochs: str = "all"
    compile: bool = False
    archs_per_step: int = 1
    stacking: Stacking = "auto"

    def __post_init__(self) -> None:
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("stacking", self.stacking, STACKINGS)
        if isinstance(self.archs_per_step, bool) or not isinstance(self.archs_per_step, int) or self.archs_per_step < 1:
            raise ValueError(f"archs_per_step must be an int >= 1, got {self.archs_per_step!r}")
        check_choice("eval_epochs value", self.eval_epochs, EVAL_EPOCHS)
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise ValueError(f"threads must be an int >= 1 or None, got {self.threads!r}")
        if not isinstance(self.eval_batch_size, int) or self.eval_batch_size < 1:
            raise ValueError(f"eval_batch_size must be an int >= 1, got {self.eval_batch_size!r}")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ValueError(f"unknown device {self.device!r}; valid devices are 'auto', 'cpu', 'cuda', 'cuda:<i>'")

    @classmethod
    def coerce(cls, value: Runtime | Mapping[str, Any] | None) -> Runtime:
        """Return a runtime given as itself, as a dict of its fields (a Gymnasium spec's JSON round trip gives
        one back) or ``None`` (the defaults)."""
        if value is None:
            return cls()
        if isinstance(value, Runtime):
            return value
        if isinstance(value, Mapping):
            names = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - names)
            if unknown:
                raise ValueError(f"unknown runtime fields {unknown}; valid fields are {sorted(names)}")
            return cls(**value)
        raise TypeError(f"runtime must be a Runtime or a dict of its fields, got {type(value).__name__}")

    @property
    def torch_threads(self) -> int:
        """Return the torch threads a run uses (``threads``, 1 when unset)."""
        return 1 if self.threads is None else self.threads

    def device_type(self) -> str:
        """Return ``"cuda"`` or ``"cpu"``: where runs execute (without importing torch unless ``device="auto"``;
        without torch, nothing trains on CUDA here, so ``auto`` means CPU for reading cached runs)."""
        if self.device != "auto":
            return "cpu" if self.device == "cpu" else "cuda"
        try:
            import torch
        except ImportError:
            return "cpu"
        return "cuda" if torch.cuda.is_available() else "cpu"

    def numerics(self) -> dict[str, object]:
        """Return the execution choices that change a run's numbers (part of the cache key).

        Float rounding depends on the device, precision, determinism, memory format, the CPU thread count,
        grouped stacking (other kernels) and ``torch.compile``; per-arch stacking reproduces training alone.
        """
        device = self.device_type()
        grouped = self.archs_per_step > 1 and (
            self.stacking == "grouped" or (self.stacking == "auto" and device == "cuda")
        )
        return {
            "device": device,
            "precision": self.precision_name(device),
            "deterministic": self.deterministic,
            "channels_last": self.channels_last,
            "threads": self.torch_threads if device == "cpu" else None,
            "kernels": "grouped" if grouped else "standard",
            "compile": self.compile,
        }

    def precision_name(self, device_type: str) -> str:
        """Return the precision a run uses on this kind of device: ``float32``, ``bfloat16`` or ``float16``."""
        if self.precision == "float32" or (self.precision == "auto" and device_type == "cpu"):
            return "float32"
        if self.precision != "auto":
            return self.precision
        from nb201_env.training._torch import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"

    def resolve_device(self) -> torch.device:
        """Return the concrete device (``auto`` -> CUDA if available)."""
        from nb201_env.training._torch import torch

        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        device = torch.device(self.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {self.device!r} requested but CUDA is not available; use 'cpu' or 'auto'")
        return device

    def stacking_on(self, device: torch.device) -> Literal["grouped", "per-arch"]:
        """Return the stacking used on this device (``auto`` -> grouped on CUDA, per-arch elsewhere)."""
        if self.stacking != "auto":
            return self.stacking
        return "grouped" if device.type == "cuda" else "per-arch"

    def autocast_dtype(self, device: torch.device) -> torch.dtype | None:
        """Return the autocast dtype on this device (``None`` = full float32)."""
        from nb201_env.training._torch import torch

        if self.precision == "float32" or (self.precision == "auto" and device.type == "cpu"):
            return None
        if self.precision == "auto":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if self.precision == "bfloat16" else torch.float16
