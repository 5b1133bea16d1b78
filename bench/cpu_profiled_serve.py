"""``prakerja-gateway serve`` with a CPU-time profiler the benchmark switches on and off.

    python -m bench.cpu_profiled_serve OUT.prof      # then: kill -USR1 <pid> ... kill -USR2 <pid>

SIGUSR1 starts cProfile with ``time.process_time`` as its clock (so the figures are the
process's own CPU time, not time spent waiting for a core on a busy machine); SIGUSR2 stops
it and writes the stats to OUT.prof (``python -m pstats OUT.prof``). cProfile's own overhead
inflates small, frequently called functions: compare shares, not absolute times.
"""

from __future__ import annotations

import cProfile
import signal
import sys
import time

from gateway.cli import main

_profiler = cProfile.Profile(time.process_time)


def _start(signum: int, frame: object) -> None:
    _profiler.enable()


def _stop(signum: int, frame: object) -> None:
    _profiler.disable()
    _profiler.dump_stats(sys.argv[1])


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
    sys.exit(main(["serve"]))
