"""Progress of long command-line work: a bar on a terminal, plain lines anywhere else.

CI logs and pipes get one line per tenth of the work (and the last), and one per named step,
never carriage returns; a terminal gets one line redrawn in place, with the current step.
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
        self.done: float = 0
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self._started = time.monotonic()
        self._last_tenth = -1
        self._note = ""

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

    def advance(self, amount: float = 1, note: str | None = None) -> None:
        """``amount`` more done; ``note`` names the step just finished (always a line in a
        log: a long job's log then says what each step took)."""
        self.done = min(self.total, self.done + amount)
        if note is not None:
            self._note = note
        self._draw(named=note is not None)

    def _draw(self, *, named: bool = False) -> None:
        fraction = self.done / self.total if self.total else 1.0
        seconds = time.monotonic() - self._started
        if self.interactive:
            filled = round(fraction * BAR_WIDTH)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            note = f"  {self._note[:40]:<40}" if self._note else ""
            self.stream.write(
                f"\r{self.label} [{bar}] {self.done:,.0f}/{self.total:,} {seconds:5.1f} s{note}"
            )
            self.stream.flush()
            return
        tenth = int(fraction * 10)
        if tenth != self._last_tenth or named:
            self._last_tenth = tenth
            note = f" {self._note}" if named else ""
            self.stream.write(
                f"{self.label}: {self.done:,.0f}/{self.total:,} ({fraction:.0%}) {seconds:.1f} s"
                f"{note}\n"
            )
            self.stream.flush()
