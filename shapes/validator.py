"""The SHACL runs of a serving process's writes, in a process of their own.

pyshacl is pure Python: run in the serving process, each write's validation held the interpreter while it answered
reads, and every read in flight waited (``python -m bench writes``, one serving process, read p99 under 5 claim writes
a second: at 1,000 claims 70-210 ms in the serving process, 54-65 ms apart; at 100,000, 115 and 60 ms).
The validator process starts at the first write, under the memory limit of a query process (``kg.limits``), and
again at the next write after it ended; a write whose validation it did not finish is refused, and nothing is written.
"""

import subprocess
import sys
import threading
from multiprocessing.connection import Connection

from pyoxigraph import Quad
from rdflib import Graph

from kg.isolated import worker_process
from kg.limits import MEMORY_SETTING, limit_own_memory, mib
from kg.namespaces import Namespaces
from shapes.validate import Report, run_shapes


class ValidatorStoppedError(Exception):
    """The validator process ended before it gave its verdict (over its memory limit, or killed)."""


class ValidatorProcess:
    """``run_shapes`` in one process of its own: a ``shapes.validate.Runner``."""

    def __init__(self, memory_bytes: int) -> None:
        self._memory_bytes = memory_bytes
        self._lock = threading.Lock()  # one run at a time
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None

    def __call__(self, quads: list[Quad], ns: Namespaces, locations: dict[str, dict[str, str]]) -> Report:
        """``run_shapes(quads, ns, locations)`` in the validator process, started first if it does not run."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            assert self._conn is not None
            try:
                self._conn.send((quads, ns, locations))
                reply = self._conn.recv()
            except (EOFError, OSError):
                reply = ("stopped",)
            if reply[0] != "ok":
                self._stop()
                raise ValidatorStoppedError(f"the validation of the write stopped before its verdict: it needed more "
                                            f"than the memory limit of {mib(self._memory_bytes)} ({MEMORY_SETTING}), "
                                            "or its process was stopped")
        return Report(reply[1], Graph().parse(data=reply[2], format="nt"))

    def close(self) -> None:
        """Stop the process, if it runs."""
        with self._lock:
            self._stop()

    def _start(self) -> None:
        self._stop()
        self._process, self._conn = worker_process("shapes.validator", str(self._memory_bytes))

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        self._process, self._conn = None, None


def _serve(conn: Connection, memory_bytes: int) -> None:
    """The validator process: run the shapes over each ``(quads, ns, locations)`` received, until the pipe closes."""
    limit_own_memory(memory_bytes)
    while True:
        try:
            quads, ns, locations = conn.recv()
        except EOFError:
            return
        try:
            report = run_shapes(quads, ns, locations)
            conn.send(("ok", report.violations, report.graph.serialize(format="nt")))
        except MemoryError:  # Python's own allocation failed (native code aborts the process instead)
            conn.send(("memory",))


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
