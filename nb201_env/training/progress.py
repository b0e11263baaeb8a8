"""Progress of long work (decoding a dataset, training an architecture) as tqdm bars on stderr.

A bar opens on its first update, when its total is known, so a cached dataset or a cached run shows
nothing. Updates may come from several threads (tqdm locks its own state).
"""

from __future__ import annotations

from typing import Any


class ProgressBar:
    """A tqdm bar opened on first use; ``enabled=False`` makes every call a no-op."""

    def __init__(self, desc: str, unit: str, enabled: bool = True) -> None:
        self.desc, self.unit, self.enabled = desc, unit, enabled
        self.bar: Any = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self, total: int | None) -> Any:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(desc=self.desc, total=total, unit=self.unit, dynamic_ncols=True, leave=True)
        elif total is not None and self.bar.total != total:
            self.bar.total = total
        return self.bar

    def advance(self, n: int, total: int | None = None) -> None:
        """Count ``n`` more items done (of ``total``)."""
        if self.enabled:
            self._open(total).update(n)

    def show(self, done: int, total: int, **postfix: Any) -> None:
        """Show ``done`` of ``total`` items, with ``postfix`` values (e.g. the last accuracy)."""
        if not self.enabled:
            return
        bar = self._open(total)
        bar.n = done
        if postfix:
            bar.set_postfix(postfix, refresh=False)
        bar.refresh()

    def describe(self, desc: str) -> None:
        """Change the bar's description (e.g. the architecture now training)."""
        self.desc = desc
        if self.bar is not None:
            self.bar.set_description(desc, refresh=True)

    def close(self) -> None:
        """Close the bar (it stays on screen)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
