"""Progress bars for the download (bytes) and the conversion (architectures)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ByteProgress:
    """A byte progress bar created on the first response (when the total is known); closed on leaving ``with``."""

    def __init__(self, desc: str, enabled: bool) -> None:
        self.desc, self.enabled = desc, enabled
        self.bar: Any = None

    def __enter__(self) -> ByteProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self, total: int | None, initial: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(desc=self.desc, unit="B", unit_scale=True, unit_divisor=1024, dynamic_ncols=True)
        self.bar.reset(total=total)
        self.bar.update(initial)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def arch_progress(desc: str, enabled: bool) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """Return a (callback(done, total), close) pair driving a tqdm bar, or (None, no-op) when disabled."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="arch", dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close
