"""Serving from several processes on one port: one writer, the others following its checkpoints.

``poems-kg serve`` with ``POEMS_KG_SERVE_PROCESSES=N`` (N > 1) runs N processes, each accepting on a socket of its own
bound to the port with ``SO_REUSEPORT``, over which the kernel spreads the connections evenly (one shared socket would
let the process that wakes first take a whole burst): the writer, this process, which opens the store and makes every
write, and N - 1 followers, fresh interpreters that answer reads from the writer's published checkpoints
(``api.board``). A follower passes a request that may write (any method but GET, HEAD and OPTIONS, with credentials:
every write needs a bearer token) to the writer over a private Unix socket. The writer acknowledges a write only once
every follower has switched to its version (or, past a bounded wait, once a late follower is bound to switch before
it answers again), so a write is visible from every process once it is acknowledged. A follower that ends is started
again; the followers end with the writer.
"""

import asyncio
import contextlib
import datetime as dt
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import httpx
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.app import create_app, open_store, served
from api.board import Board
from api.dumps import forget_derived
from api.fast_path import too_large
from api.writes import renew_answers
from kg.limits import MemoryBudgetError, check_main_process, resident_bytes
from kg.settings import Settings
from kg.store import OxigraphStore, remove_scratch, scratch_folder

LOG = logging.getLogger(__name__)
SAFE = ("GET", "HEAD", "OPTIONS")
HOP_BY_HOP = (b"connection", b"keep-alive", b"transfer-encoding", b"upgrade", b"te", b"trailer", b"proxy-authorization")
WRITER_SOCKET = "writer.sock"  # shorter than the followers' sockets (``Board.socket_path``)
SOCKET_PATH_BYTES = 107  # the longest path of a Unix socket (Linux: 108 bytes with the closing NUL)
# How long a thread computing an answer (the gate, a page) holds the interpreter before the event loop may take it back
# to send kept answers: Python's default is 5 ms. With 1 ms, one process read 8,249 instead of 4,296 a second at 100,000
# claims while claims were written (p99 420 instead of 803 ms; bench writes, runs minutes apart on a noisy machine);
# with 2 processes, side by side, no difference (p99 295 and 310 ms).
SWITCH_INTERVAL_S = 0.001


class FollowerError(RuntimeError):
    """A follower process that did not start."""


class Follower:
    """ASGI layer of a follower: writes go to the writer; every other request is answered from the newest version."""

    def __init__(self, settings: Settings, board: Board, number: int, folder: Path, started: Callable[[], None]) -> None:
        self.board, self.number, self.folder, self.started = board, number, folder, started
        self.max_body_bytes = settings.max_body_bytes
        self.checkouts = 0
        self.settled, store = board.checkout(self._next_folder())  # the version it answers from, once switched whole
        self.written = board.written(self.settled)
        self.app = create_app(settings, store=store)
        self._catching_up = asyncio.Lock()
        self._watching: asyncio.Task[None] | None = None
        self.writer = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=str(board.folder / WRITER_SOCKET)),
                                        base_url="http://writer", timeout=None)

    def _next_folder(self) -> Path:
        self.checkouts += 1
        return self.folder / f"checkout-{self.checkouts}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Forward a write, or answer from the newest version."""
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._started(send))
            return
        if scope["type"] == "http" and scope["method"] not in SAFE and any(n == b"authorization" for n, _ in scope["headers"]):
            await self._forward(scope, receive, send)
            return
        if self.board.forced() > self.settled:  # acknowledged before this process switched to it: switch first
            await self._catch_up()
        await self.app(scope, receive, send)

    def _started(self, send: Send) -> Send:
        """``send`` of the lifespan: once the application has started, its data version is the one checked out."""
        async def started(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self.app.state.version, self.app.state.loaded_at = self.settled, self.written
                self.board.switched(self.number, self.settled)
                self._watching = asyncio.create_task(self._watch())
                self.started()
            elif message["type"] == "lifespan.shutdown.complete":
                if self._watching is not None:
                    self._watching.cancel()
                await self.writer.aclose()
            await send(message)
        return started

    async def _watch(self) -> None:
        """Switch to each version once told of it (the writer waits for that before acknowledging a write)."""
        told, loop = self.board.listen(self.number), asyncio.get_running_loop()
        with told:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(loop.sock_recv(told, 64), 0.1)
                if self.board.version() != self.settled:
                    try:
                        await self._catch_up()
                    except OSError as exc:  # the checkpoint could not be read; a request that must switch says so
                        LOG.error("serving process %d could not switch to the newest data: %s", self.number, exc)
                        await asyncio.sleep(1)

    async def _catch_up(self) -> None:
        """Switch to the newest published version.

        Open it, compute again the kept answers the writes since changed (the old ones are served meanwhile: the writer
        has not acknowledged the writes), drop those not done in time, then record the switch on the board.
        """
        async with self._catching_up:
            if self.board.version() == self.settled:
                return
            state = self.app.state
            version, store = await asyncio.to_thread(self.board.checkout, self._next_folder())
            touched, written = self.board.changes(self.settled, version)
            state.store = store
            forget_derived(state)
            self.written = written or dt.datetime.now(dt.UTC).replace(microsecond=0)
            state.version, state.loaded_at = version, self.written
            await asyncio.gather(state.pool.refresh(store), renew_answers(self.app, touched))  # one failing: switch again
            self.settled = version
            self.board.switched(self.number, version)
            for old in self.folder.glob("checkout-*"):  # all but this one and the one before, which requests may still read
                if old != store.path and old.name != f"checkout-{self.checkouts - 1}":
                    shutil.rmtree(old, ignore_errors=True)

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request to the writer and its answer back, whole."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await _send(send, 413, [(b"content-type", b"application/json")],
                            httpx.Response(413, json={"detail": too_large(self.max_body_bytes)}).content)
                return
            if not message.get("more_body", False):
                break
        headers = [(n, v) for n, v in scope["headers"] if n.lower() not in HOP_BY_HOP and n != b"content-length"]
        path = scope["path"] + ("?" + scope["query_string"].decode("latin-1") if scope["query_string"] else "")
        try:
            answer = await self.writer.request(scope["method"], path, headers=headers, content=bytes(body))
        except httpx.HTTPError as exc:
            await _send(send, 503, [(b"content-type", b"application/json")],
                        httpx.Response(503, json={"detail": f"the writing process did not answer: {exc}"}).content)
            return
        if self.board.version() != self.settled:  # the write's own version, before the client is told of it
            await self._catch_up()
        kept = [(n, v) for n, v in answer.headers.raw if n.lower() not in HOP_BY_HOP and n.lower() != b"content-length"]
        await _send(send, answer.status_code, kept, answer.content)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _listening(host: str, port: int) -> socket.socket:
    """A listening socket of its own for one serving process; the kernel spreads connections over all of them."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(app, access_log=settings.access_log, lifespan="on")


def serve(settings: Settings, host: str, port: int, started: Callable[[], None]) -> None:
    """Serve on ``host:port`` until stopped: in this process alone, or with followers (``settings.serve_processes``).

    ``started`` is called once the store is open and checked, before the first request is accepted.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    if settings.serve_processes == 1:
        application = served(settings)
        check_main_process(settings, resident_bytes())
        started()
        uvicorn.run(application, host=host, port=port, access_log=settings.access_log)
        return
    signal.signal(signal.SIGTERM, _terminated)
    folder = scratch_folder("poems-kg-serve-", settings.store_path)
    try:
        if settings.store_path is None:  # the followers read checkpoints, which only a store on disk makes cheaply
            settings = settings.model_copy(update={"store_path": folder / "store"})
        board = Board(folder, followers=settings.serve_processes - 1)
        if (length := len(os.fsencode(board.socket_path(board.followers)))) > SOCKET_PATH_BYTES:
            raise FollowerError(f"the serving processes talk over Unix sockets in {folder}, too long a path for them "
                                f"({length} bytes, at most {SOCKET_PATH_BYTES}): give the store a folder whose path is "
                                f"{length - SOCKET_PATH_BYTES} bytes shorter (with no store set, the temporary folder, "
                                "TMPDIR)")
        store = open_store(settings)
        assert isinstance(store, OxigraphStore), "several serving processes share the embedded store"
        board.publish(store, 0, None, dt.datetime.now(dt.UTC).replace(microsecond=0))
        check_main_process(settings, resident_bytes())
        listening = _listening(host, port)
        private = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        private.bind(str(folder / WRITER_SOCKET))
        private.listen(256)
        followers = _Followers(settings, folder, (host, listening.getsockname()[1]), settings.serve_processes - 1)
        followers.start()
        started()
        try:
            uvicorn.Server(_config(create_app(settings, store=store, board=board), settings)).run(sockets=[listening, private])
        finally:
            followers.stop()
    finally:
        remove_scratch(folder)


def _terminated(signum: int, _: FrameType | None) -> None:
    """SIGTERM ends the writer by an exception: it then stops its followers and deletes its folder.

    Uvicorn, once shut down, raises again the signal it caught, which would otherwise kill the writer there and leave
    the folder behind (the store too, when none is set).
    """
    raise SystemExit(128 + signum)


class _Followers:
    """The follower processes: started, started again when one ends, stopped with the writer."""

    def __init__(self, settings: Settings, folder: Path, address: tuple[str, int], count: int) -> None:
        self.settings, self.folder, self.address, self.count = settings, folder, address, count
        self.processes: list[subprocess.Popen[bytes]] = []
        self.stopping = threading.Event()

    def start(self) -> None:
        """Start every follower and wait until each accepts requests; then watch them."""
        for number in range(1, self.count + 1):
            self.processes.append(self._spawn(number))
        threading.Thread(target=self._watch, daemon=True).start()

    def _spawn(self, number: int) -> subprocess.Popen[bytes]:
        with _listening(*self.address) as listening:  # the follower's own: closed here once it has it
            process = subprocess.Popen(
                [sys.executable, "-m", "api.processes", str(listening.fileno()), str(self.folder), str(number)],
                pass_fds=[listening.fileno()], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(self.settings.model_dump_json().encode() + b"\n")  # its settings; then open until the end
        process.stdin.flush()
        if process.stdout.readline().strip() != b"ready":
            process.kill()
            raise FollowerError(f"serving process {number} of {self.count + 1} did not start (exit code {process.wait()}; "
                                f"its error is above)")
        return process

    def _watch(self) -> None:
        while not self.stopping.is_set():
            for index, process in enumerate(self.processes):
                if process.poll() is not None and not self.stopping.is_set():
                    LOG.error("serving process %d ended (exit code %s); starting it again", index + 1, process.returncode)
                    with contextlib.suppress(FollowerError, OSError):
                        self.processes[index] = self._spawn(index + 1)
            self.stopping.wait(0.5)

    def stop(self) -> None:
        """End every follower (closing its standard input tells it to finish what it is answering)."""
        self.stopping.set()
        for process in self.processes:
            with contextlib.suppress(OSError):
                assert process.stdin is not None
                process.stdin.close()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _follow(fd: int, folder: Path, number: int) -> None:
    """A follower's life: read its settings, check out the newest version, serve until the writer closes stdin."""
    settings = Settings.model_validate_json(sys.stdin.readline())
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    own = folder / f"follower-{number}"
    shutil.rmtree(own, ignore_errors=True)
    own.mkdir()

    def started() -> None:
        try:
            check_main_process(settings, resident_bytes())
        except MemoryBudgetError as exc:
            sys.stderr.write(f"error: serving process {number}: {exc}\n")
            os._exit(1)
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        os.dup2(2, 1)  # nobody reads its standard output any more

    server = uvicorn.Server(_config(Follower(settings, Board(folder), number, own, started), settings))

    def writer_gone() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=writer_gone, daemon=True).start()
    try:
        server.run(sockets=[socket.socket(fileno=fd)])
    finally:
        shutil.rmtree(own, ignore_errors=True)


if __name__ == "__main__":
    _follow(int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
