"""Progress of long command-line work: a bar on a terminal, plain lines anywhere else.

CI logs and pipes get one line per tenth of the work (and the last), never carriage
returns; a terminal gets one line redrawn in place.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

BAR_WIDTH = 30


class Progress:
    def __init__(self, label: str, total: int, *, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self._started = time.monotonic()
        self._last_tenth = -1

    def __enter__(self) -> Progress:
        self._draw()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None and self.done < self.total:
            self.done = self.total
            self._draw()
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()

    def advance(self, amount: int = 1) -> None:
        self.done = min(self.total, self.done + amount)
        self._draw()

    def _draw(self) -> None:
        fraction = self.done / self.total if self.total else 1.0
        seconds = time.monotonic() - self._started
        if self.interactive:
            filled = round(fraction * BAR_WIDTH)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(
                f"\r{self.label} [{bar}] {self.done:,}/{self.total:,} {seconds:5.1f} s"
            )
            self.stream.flush()
            return
        tenth = int(fraction * 10)
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(
                f"{self.label}: {self.done:,}/{self.total:,} ({fraction:.0%}) {seconds:.1f} s\n"
            )
            self.stream.flush()
