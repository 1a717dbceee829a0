"""Progress bars of long steps (reading files, OCR pages, segmenting, embedding) that the
app's status line can list while they run.

`progress_bar` is tqdm (the same terminal bar, count and ETA) whose open bars are also
listed on `BOARD`, an explicit `ProgressBoard`: the page reads `BOARD.lines()` instead of
tqdm's private bar registry. It lives in `corpus`, the lowest layer, so the corpus and
indexer steps can all report to the same board; a disabled bar is never listed.
"""
from __future__ import annotations

import threading

from tqdm.auto import tqdm


class ProgressBoard:
    """The bars open in this process: description, count and total, for a status line."""

    def __init__(self):
        self._lock = threading.Lock()
        self._bars: list[tqdm] = []

    def add(self, bar: tqdm) -> None:
        with self._lock:
            self._bars.append(bar)

    def discard(self, bar: tqdm) -> None:
        with self._lock:
            self._bars = [b for b in self._bars if b is not bar]

    def lines(self) -> list[str]:
        """One line per open bar, oldest first: `reading: 12/40 30%` (`?` without a total)."""
        with self._lock:
            bars = list(self._bars)
        lines = []
        for bar in bars:
            total, count = bar.total, bar.n
            pct = f" {100 * count / total:.0f}%" if total else ""
            lines.append(f"{bar.desc or '进度'}: {count}/{total or '?'}{pct}")
        return lines


#: The board of this process (what the app's status line shows during a build).
BOARD = ProgressBoard()


class BoardBar(tqdm):
    """A tqdm bar that is listed on `BOARD` from creation until it is closed."""

    def __init__(self, *args, **kwargs):
        self._listed = False
        super().__init__(*args, **kwargs)
        if not self.disable:
            BOARD.add(self)
            self._listed = True

    def close(self) -> None:
        if getattr(self, "_listed", False):
            BOARD.discard(self)
            self._listed = False
        super().close()


def progress_bar(iterable=None, *, desc: str, unit: str, total: int | None = None, disable: bool = False) -> BoardBar:
    """tqdm over `iterable` (or a manual bar of `total`) shown in the terminal and on `BOARD`."""
    return BoardBar(iterable, desc=desc, unit=unit, total=total, disable=disable)
