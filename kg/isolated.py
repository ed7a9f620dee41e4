"""One SPARQL task in a fresh process, under the memory limit (``kg.limits``) and the time limit.

For what runs a client's SPARQL outside the query workers: the ``WHERE`` of an admin update, and ``poems-kg query``.
The process is stopped at the time limit; a query that needs more memory than the limit stops it too; either way
:class:`TaskError` says which limit, and nothing the task would have changed is changed.
"""

import logging
import os
import pickle
import socket
import subprocess
import sys
from ctypes.util import find_library
from functools import cache
from multiprocessing.connection import Connection
from typing import Any

from pyoxigraph import QueryResultsFormat, QueryTriples, RdfFormat, Store, parse, serialize

from kg.limits import ABORTED, limit_own_memory, memory_exceeded, time_exceeded
from kg.settings import Settings

LOG = logging.getLogger(__name__)


class TaskError(Exception):
    """A task refused or stopped, with the HTTP status that says why (400, 413, 503)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@cache
def allocator_env(choice: str) -> dict[str, str]:
    """The environment that gives a process evaluating SPARQL the allocator ``choice`` (setting ``query_allocator``).

    "jemalloc", preloaded where the machine has it: Oxigraph allocates for every solution it joins, and on jemalloc
    the 100,000-claim lookups of ``bench http`` took about a quarter less time than on the C library's allocator
    (README). The process's cap counts the memory it has mapped, so freed memory is unmapped at once: after a large
    query, a worker must still be able to open the next snapshot (RocksDB's threads need their stacks mapped). One
    arena: a query is evaluated on one thread, and each arena more maps memory of its own. Empty: the C library's.
    """
    library = find_library("jemalloc") if choice == "jemalloc" else None
    if library is None:
        return {}
    return {"LD_PRELOAD": ":".join(filter(None, [library, os.environ.get("LD_PRELOAD")])),
            "MALLOC_CONF": "narenas:1,retain:false,dirty_decay_ms:0,muzzy_decay_ms:0"}


def worker_process(module: str, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Connection]:
    """``python -m module <fd> args...`` with one end of a socket pair as ``fd``; the process and the other end.

    A fresh interpreter: not fork (the server runs threads), not multiprocessing's spawn (it re-runs ``__main__``).
    ``env``: variables it gets beside this process's.
    """
    parent, child = socket.socketpair()
    process = subprocess.Popen([sys.executable, "-m", module, str(child.fileno()), *args], pass_fds=[child.fileno()],
                               env=os.environ | env if env else None)
    child.close()
    return process, Connection(parent.detach())


def _update(before: bytes, update: str, max_changed: int) -> tuple[bytes, bytes]:
    """The quads ``update`` adds to and removes from the dataset ``before`` (N-Quads), as N-Quads."""
    original, trial = Store(), Store()
    original.extend(parse(before, format=RdfFormat.N_QUADS))  # parse() keeps blank node labels; Store.load() renames them
    del before
    trial.extend(original)
    trial.update(update)
    added = [q for q in trial if q not in original]
    removed = [q for q in original if q not in trial]
    if len(added) + len(removed) > max_changed:
        raise TaskError(413, f"the update changes {len(added) + len(removed)} quads; at most {max_changed} in one "
                                "request (setting POEMS_KG_MAX_REQUEST_QUADS)")
    return serialize(added, format=RdfFormat.N_QUADS) or b"", serialize(removed, format=RdfFormat.N_QUADS) or b""


def _query(folder: str, query: str) -> tuple[bool, bytes]:
    """``query`` over the on-disk store ``folder``, the default graph the union of all graphs.

    ``(True, Turtle)`` for a graph, else ``(False, SPARQL results JSON)``.
    """
    result = Store.read_only(folder).query(query, use_default_graph_as_union=True)
    if isinstance(result, QueryTriples):
        return True, serialize(result, format=RdfFormat.TURTLE) or b""
    return False, result.serialize(format=QueryResultsFormat.JSON) or b""


TASKS: dict[str, Any] = {"update": _update, "query": _query}


def run(task: str, args: tuple[Any, ...], settings: Settings) -> Any:
    """Run ``TASKS[task](*args)`` in a fresh process; its value or TaskError.

    Within the query memory and time limits of ``settings``, with its query allocator.
    """
    memory_bytes, timeout_s = settings.query_memory_bytes, settings.query_timeout_s
    try:
        done = subprocess.run([sys.executable, "-m", "kg.isolated", str(memory_bytes)], input=pickle.dumps((task, args)),
                              capture_output=True, timeout=timeout_s, check=False,
                              env=os.environ | allocator_env(settings.query_allocator))
    except subprocess.TimeoutExpired:
        raise TaskError(503, time_exceeded(timeout_s)) from None
    if done.returncode == ABORTED:
        raise TaskError(503, memory_exceeded(memory_bytes))
    if done.returncode != 0:
        LOG.error("a query process ended with code %s: %s", done.returncode, done.stderr.decode(errors="replace")[-2000:])
        raise TaskError(503, "the query process stopped unexpectedly; nothing was changed")
    reply = pickle.loads(done.stdout)
    if reply[0] == "error":
        raise TaskError(reply[1], reply[2])
    return reply[1]


def _main(memory_bytes: int) -> None:
    """The child: read ``(task, args)`` from standard input, write ``("ok", value)`` or ``("error", status, message)``."""
    limit_own_memory(memory_bytes)
    try:
        task, args = pickle.loads(sys.stdin.buffer.read())  # written by run() in the parent
        reply: tuple[Any, ...] = ("ok", TASKS[task](*args))
    except TaskError as exc:
        reply = ("error", exc.status, exc.message)
    except (SyntaxError, ValueError) as exc:
        reply = ("error", 400, str(exc))
    except OSError as exc:
        reply = ("error", 400, f"the task failed: {exc}")
    except MemoryError:
        reply = ("error", 503, memory_exceeded(memory_bytes))
    sys.stdout.buffer.write(pickle.dumps(reply))


if __name__ == "__main__":
    _main(int(sys.argv[1]))
