"""The SHACL runs of a serving process's writes, in a process of their own.

pyshacl is pure Python: run in the serving process, each write's validation held the interpreter while it answered
reads, and every read in flight waited (``python -m bench writes``, one serving process, read p99 under 5 claim writes
a second: at 1,000 claims 70-210 ms in the serving process, 54-65 ms apart; at 100,000, 115 and 60 ms).
The validator process starts at the first write, under the memory limit of a query process (``kg.limits``), and
again after it stops; a write whose validation it could not finish is refused, and nothing is written.
"""

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from pyoxigraph import Quad
from rdflib import Graph

from kg.limits import MEMORY_SETTING, limit_own_memory, mib
from kg.namespaces import Namespaces
from shapes.validate import Report, Violation, run_shapes


class ValidatorStoppedError(Exception):
    """The validator process ended before it gave its verdict (over its memory limit, or killed)."""


def _run(quads: list[Quad], ns: Namespaces, locations: dict[str, dict[str, str]]) -> tuple[list[Violation], str]:
    """``run_shapes`` in the validator process: its violations and its report graph as N-Triples."""
    report = run_shapes(quads, ns, locations)
    return report.violations, report.graph.serialize(format="nt")


class ValidatorProcess:
    """``run_shapes`` in one process of its own: a ``shapes.validate.Runner``."""

    def __init__(self, memory_bytes: int) -> None:
        self._memory_bytes = memory_bytes
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, quads: list[Quad], ns: Namespaces, locations: dict[str, dict[str, str]]) -> Report:
        """``run_shapes(quads, ns, locations)`` in the validator process, started first if it does not run."""
        with self._lock:
            if self._pool is None:  # a fresh interpreter: nothing of the serving process's state is copied into it
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=limit_own_memory, initargs=(self._memory_bytes,))
            pool = self._pool
        try:
            violations, graph = pool.submit(_run, quads, ns, locations).result()
        except (BrokenProcessPool, MemoryError):
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise ValidatorStoppedError(f"the validation of the write stopped before its verdict: it needed more than the "
                                   f"memory limit of {mib(self._memory_bytes)} ({MEMORY_SETTING}), or its process "
                                   "was stopped") from None
        return Report(violations, Graph().parse(data=graph, format="nt"))

    def close(self) -> None:
        """Stop the process, if it runs."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
