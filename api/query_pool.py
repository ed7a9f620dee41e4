"""SPARQL queries in worker processes, so that a query past its time or memory limit is really stopped.

Oxigraph evaluates a query in native code with no way to cancel it, so each query runs in a worker
process that holds a read-only handle on a snapshot of the store. A query that outlives its time limit
is stopped by killing its worker; one that needs more memory than the worker may have (``kg.limits``)
ends it. Either way a fresh worker takes its place while the others keep answering.
"""

import asyncio
import contextlib
import io
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from pyoxigraph import QueryResultsFormat, QueryTriples, RdfFormat, serialize
from typing_extensions import Buffer

from api.negotiation import GRAPH_TYPES, RESULT_TYPES, NotAcceptableError, negotiate
from kg.isolated import worker_process
from kg.limits import ABORTED, limit_own_memory, memory_exceeded, mib, result_too_large, time_exceeded
from kg.sparql_text import syntax_error
from kg.store import KGStore, OxigraphStore, RemoteStore, StoreError, remove_scratch, scratch_folder

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueryRequest:
    """One SPARQL Protocol query, as the worker needs it."""

    query: str
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    accept: str | None = None


class QueryError(Exception):
    """A query that cannot be answered, with the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Capped(io.BytesIO):
    """A buffer that refuses to grow past ``max_bytes``: a large result is refused before it is held whole."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def write(self, chunk: Buffer, /) -> int:
        if self.tell() + len(memoryview(chunk)) > self.max_bytes:
            raise QueryError(413, result_too_large(self.max_bytes))
        return super().write(chunk)


def answer(store: KGStore, request: QueryRequest, max_bytes: int) -> tuple[str, bytes]:
    """Evaluate, negotiate and serialize one query: ``(media type, body)`` or a :class:`QueryError`."""
    sink = _Capped(max_bytes)
    try:
        result = store.query(request.query, default_graph=list(request.default_graphs) or None,
                             named_graphs=list(request.named_graphs) or None)
        try:
            if isinstance(result, QueryTriples | list):
                choice = negotiate(request.accept, dict(GRAPH_TYPES), "text/turtle")
                assert isinstance(choice.format, RdfFormat)
                serialize(result, sink, format=choice.format)
            else:
                choice = negotiate(request.accept, dict(RESULT_TYPES), "application/sparql-results+json")
                assert isinstance(choice.format, QueryResultsFormat)
                result.serialize(sink, format=choice.format)
        finally:
            del result  # pyoxigraph's result iterators must be dropped by the thread that made them, not by the error handler
    except SyntaxError as exc:
        raise QueryError(400, f"malformed query: {syntax_error(str(exc), request.query)}") from None
    except NotAcceptableError as exc:
        raise QueryError(406, str(exc)) from None
    except StoreError as exc:
        raise QueryError(exc.status, str(exc)) from None
    except (OSError, ValueError) as exc:  # ValueError: a dataset IRI the engine cannot read; never a worker's death
        raise QueryError(400, f"query failed: {exc}") from None
    return choice.media_type, sink.getvalue()


def _worker(conn: Connection, snapshot: str, max_bytes: int, memory_bytes: int) -> None:
    """Worker process: answer requests from ``conn`` until the pool closes it, within ``memory_bytes`` of memory."""
    limit_own_memory(memory_bytes)
    store = OxigraphStore.read_only(Path(snapshot))
    conn.send("ready")
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if isinstance(request, tuple):  # ("reopen", folder): answer from a newer snapshot from now on
            del store
            store = OxigraphStore.read_only(Path(request[1]))
            conn.send("ready")
            continue
        try:
            conn.send(("ok", *answer(store, request, max_bytes)))
        except QueryError as exc:  # sent as plain values: this module runs as __main__ here
            conn.send(("error", exc.status, exc.message))
        except MemoryError:  # Python's own allocation failed (native code aborts the process instead)
            conn.send(("error", 503, memory_exceeded(memory_bytes)))


async def _readable(conn: Connection, timeout: float) -> bool:
    """Wait, without a thread, until ``conn`` has data (or is closed); False after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(conn.fileno(), wake)
    try:
        await asyncio.wait_for(ready, timeout)
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(conn.fileno())
        os.set_blocking(conn.fileno(), True)  # uvloop made it non-blocking; recv() must wait for the whole reply
    return True


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    generation: int = 0

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.conn.close()


class QueryPool:
    """A fixed number of query worker processes over a read-only snapshot of the store."""

    def __init__(self, store: OxigraphStore, size: int, timeout_s: float, max_result_bytes: int, memory_bytes: int,
                 env: dict[str, str] | None = None) -> None:
        """``env``: variables each worker gets beside the server's (its allocator, ``kg.isolated.allocator_env``)."""
        self.size, self.timeout_s, self.max_result_bytes, self.memory_bytes = size, timeout_s, max_result_bytes, memory_bytes
        self.env = env
        self._dir = scratch_folder("poems-kg-snapshot-", store.path)
        self._generation = 0
        self._snapshot = self._dir / "snapshot-0"
        store.snapshot(self._snapshot)
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: list[_Worker] = []
        self._replacing: set[asyncio.Task[None]] = set()
        self._refreshing = asyncio.Lock()  # one refresh at a time: a snapshot is never deleted while workers open it

    async def start(self) -> None:
        """Start every worker and wait until each has opened the snapshot."""
        for worker in await asyncio.gather(*(asyncio.to_thread(self._spawn) for _ in range(self.size))):
            self._idle.put_nowait(worker)

    def _spawn(self) -> _Worker:
        snapshot, generation = self._snapshot, self._generation  # together: a write may move both on meanwhile
        process, conn = worker_process("api.query_pool", str(snapshot), str(self.max_result_bytes), str(self.memory_bytes),
                                       env=self.env)
        try:
            ready = conn.recv()
        except EOFError:
            ready = None
        if ready != "ready":
            process.kill()
            raise RuntimeError(f"a query worker failed to start (exit code {process.wait()})")
        worker = _Worker(process, conn, generation)  # reopened on a newer snapshot before it answers, if there is one
        self._workers.append(worker)
        return worker

    def _replace(self, worker: _Worker) -> int | None:
        """Kill ``worker`` and put a fresh one in its place, in the background; the return code it had already ended with."""
        ended = worker.process.poll()
        worker.kill()
        self._workers.remove(worker)
        async def respawn() -> None:
            while True:  # a pool that silently shrank would end up answering every query with "busy"
                try:
                    fresh = await asyncio.to_thread(self._spawn)
                except (RuntimeError, OSError) as exc:
                    LOG.error("%s; retrying in 1 s", exc)
                    await asyncio.sleep(1)
                    continue
                self._idle.put_nowait(fresh)  # reopened before its first query if a write made a newer snapshot
                return

        task = asyncio.create_task(respawn())
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)
        return ended

    async def refresh(self, store: OxigraphStore) -> None:
        """After a write: answer from a new snapshot. Each worker reopens it before it answers its next query."""
        async with self._refreshing:
            snapshot = self._dir / f"snapshot-{self._generation + 1}"
            await asyncio.to_thread(store.snapshot, snapshot)
            self._snapshot, self._generation = snapshot, self._generation + 1

    def _reopen(self, worker: _Worker, snapshot: Path, generation: int) -> None:
        worker.conn.send(("reopen", str(snapshot)))
        if worker.conn.recv() != "ready":
            raise RuntimeError("a query worker could not open the new snapshot")
        worker.generation = generation

    def _prune(self) -> None:
        """Delete the snapshots no worker reads any more."""
        in_use = {self._generation} | {w.generation for w in self._workers}
        for folder in self._dir.glob("snapshot-*"):
            generation = folder.name.removeprefix("snapshot-")
            if generation.isdigit() and int(generation) not in in_use:
                shutil.rmtree(folder, ignore_errors=True)

    def pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring and tests)."""
        return [w.process.pid for w in self._workers]

    async def run(self, request: QueryRequest) -> tuple[str, bytes]:
        """Answer a query within the time limit (waiting for a free worker counts towards it).

        A worker that cannot open the newest snapshot (its process ended: opening a store needs memory that a large
        query before may have left in use, under the worker's cap) is replaced, and the query waits for the next one.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        replaced = False
        while True:
            try:
                worker = await asyncio.wait_for(self._idle.get(), timeout=max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise QueryError(503, "the query workers could not open the newest data; try again" if replaced else
                                 f"all query workers are busy; no worker was free within the time limit of "
                                 f"{self.timeout_s:g} s (setting POEMS_KG_QUERY_TIMEOUT_S)") from None
            if worker.generation == self._generation:
                break
            try:  # a write since it last answered: it reopens the newest snapshot first
                await asyncio.to_thread(self._reopen, worker, self._snapshot, self._generation)
            except (RuntimeError, EOFError, OSError) as exc:
                LOG.error("%s; replacing it", exc)
                self._replace(worker)
                replaced = True
                continue
            self._prune()
            break
        try:
            worker.conn.send(request)
            ready = await _readable(worker.conn, max(0.0, deadline - loop.time()))
            reply = worker.conn.recv() if ready else None  # the worker writes its reply in one go
        except (EOFError, OSError):
            with contextlib.suppress(subprocess.TimeoutExpired):  # the reply was cut short: the worker has just ended
                await asyncio.to_thread(worker.process.wait, 1)
            if self._replace(worker) == ABORTED:
                LOG.warning("a query worker reached its memory limit of %s; replaced", mib(self.memory_bytes))
                raise QueryError(503, memory_exceeded(self.memory_bytes)) from None
            raise QueryError(503, "the query worker stopped unexpectedly; try again") from None
        except asyncio.CancelledError:  # the client went away: stop its query too
            self._replace(worker)
            raise
        if reply is None:
            self._replace(worker)
            raise QueryError(503, time_exceeded(self.timeout_s))
        self._idle.put_nowait(worker)
        kind, first, second = reply
        if kind == "error":
            raise QueryError(first, second)
        return first, second

    async def close(self) -> None:
        """Stop every worker and delete the snapshot."""
        await asyncio.gather(*self._replacing, return_exceptions=True)
        for worker in self._workers:
            worker.kill()
        self._workers.clear()
        remove_scratch(self._dir)


class RemoteRunner:
    """Queries for a remote SPARQL server, which enforces its own time limit; the wait here is bounded too.

    The server's answer is read as it streams in and refused once it passes the result-size limit, so an answer of
    any size costs this process at most that limit.
    """

    def __init__(self, store: RemoteStore, timeout_s: float, max_result_bytes: int) -> None:
        self.store, self.timeout_s, self.max_result_bytes = store.capped(max_result_bytes), timeout_s, max_result_bytes

    async def start(self) -> None:
        """Nothing to start: the server is already running."""

    async def run(self, request: QueryRequest) -> tuple[str, bytes]:
        """Answer a query, or 503 once the time limit has passed."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(answer, self.store, request, self.max_result_bytes),
                                          timeout=self.timeout_s)
        except TimeoutError:
            raise QueryError(503, time_exceeded(self.timeout_s)) from None

    async def refresh(self, store: KGStore) -> None:
        """Nothing to refresh: the server answers from its current state."""

    async def close(self) -> None:
        """Nothing to stop."""


if __name__ == "__main__":
    _worker(Connection(int(sys.argv[1])), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
