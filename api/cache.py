"""Answers kept until a write changes what they read: a GET that was answered once is answered again from memory.

While an answer is computed, the IRIs its named queries are bound to are recorded (``kg.reads``); a query bound to none
reads the whole store. The data changes only through poems-kg's own write paths, each of which ends in
``writes.after_write``, which names what the write touched: a claim write its claim, subject, object and source (and
those of the claim it supersedes), an admin write everything. Only the kept answers that read a touched IRI (or the
whole store) are dropped, and they are computed again in the background, so that the next reader finds them warm; the
others stay. An answer computed while a write that touches it committed is not kept. Concurrent misses of one key are
computed once: the first computes, the others wait for its answer. The cache is bounded in entries and bytes
(settings ``answer_cache_entries`` and ``answer_cache_bytes``) and evicts the least recently used answer. Not kept:
``/sparql`` and the Graph Store endpoint (a query may use ``NOW()`` or ``RAND()``), requests with credentials or
cookies, and anything but a 200 or 303 answer.

The cache is the outermost layer of the application, so a kept answer costs no framework time: what the layers below
add (compression, CORS headers) is part of the kept answer, and the request headers they read (``Accept-Encoding``,
``Origin``) are part of the key. A conditional GET whose ``If-None-Match`` names the ETag of the kept answer gets
``304`` here; one that does not is passed on uncached, and the route answers it.
The same store also keeps what a POST route computes from the data alone (``kept``), such as a CDS card of a code; its
keys carry the data version (``app.state.version``), which every write moves on.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kg.reads import EVERYTHING, READS

UNCACHED = ("/sparql", "/rdf-graphs", "/docs", "/openapi.json")
SKIP_HEADERS = (b"authorization", b"cookie")
CONDITIONAL = (b"if-none-match", b"if-modified-since")
REVALIDATED = (b"etag", b"vary", b"last-modified", b"cache-control", b"access-control-allow-origin")  # kept on a 304
T = TypeVar("T")
Turn = Literal["lead", "kept", "alone"]


@dataclass
class Answer:
    """A complete response: status, headers and body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    reads: frozenset[str] | None = None  # the IRIs it read; None: the whole store
    scope: Scope | None = None  # the request, to compute it again after a write drops it


@dataclass
class AnswerStore:
    """A least-recently-used map from keys to values of a known size, bounded in entries and bytes."""

    max_entries: int
    max_bytes: int
    entries: OrderedDict[Hashable, tuple[Any, int]] = field(default_factory=OrderedDict)
    size: int = 0
    pending: dict[Hashable, asyncio.Event] = field(default_factory=dict)  # keys being computed now
    writes: int = 0  # writes seen (``forget``)
    touched: list[tuple[int, frozenset[str] | None]] = field(default_factory=list)  # the latest writes' touched IRIs

    def get(self, key: Hashable) -> Any | None:
        """The value kept for ``key``, marked as recently used."""
        kept = self.entries.get(key)
        if kept is None:
            return None
        self.entries.move_to_end(key)
        return kept[0]

    def put(self, key: Hashable, value: object, size: int) -> None:
        """Keep a value of ``size`` bytes, evicting the least recently used ones beyond the limits."""
        if size > self.max_bytes // 4 or self.max_entries < 1:
            return
        replaced = self.entries.pop(key, None)
        self.size += size - (replaced[1] if replaced else 0)
        self.entries[key] = (value, size)
        while len(self.entries) > self.max_entries or self.size > self.max_bytes:
            _, (_, old) = self.entries.popitem(last=False)
            self.size -= old

    def forget(self, touched: set[str] | None) -> list[Answer]:
        """Drop the answers that read one of the ``touched`` IRIs (``None``: every answer); return those dropped."""
        self.writes += 1
        self.touched = [*self.touched[-255:], (self.writes, frozenset(touched) if touched is not None else None)]
        dropped = [key for key, (value, _) in self.entries.items()
                   if not isinstance(value, Answer) or _reads_any(value.reads, touched)]
        answers = []
        for key in dropped:
            value, size = self.entries.pop(key)
            self.size -= size
            if isinstance(value, Answer):
                answers.append(value)
        return answers

    def still_current(self, since: int, reads: frozenset[str] | None) -> bool:
        """Whether no write since the ``since``-th touched what an answer read (it may be kept)."""
        if since == self.writes:
            return True
        if not self.touched or self.touched[0][0] > since + 1:  # writes too far back to tell
            return False
        return not any(_reads_any(reads, touched) for n, touched in self.touched if n > since)

    async def turn(self, key: Hashable) -> Turn:
        """What a request that misses ``key`` does, waiting first while another request computes it.

        "lead": compute it (then call ``done``); "kept": take what the first request kept meanwhile; "alone": compute
        it too, all waiters at once, when the first request's answer was not kept (too large, or an error).
        """
        if self.max_entries < 1:  # nothing is kept: waiting for another request would only delay this one
            return "alone"
        computing = self.pending.get(key)
        if computing is None:
            self.pending[key] = asyncio.Event()
            return "lead"
        await computing.wait()
        return "kept" if key in self.entries else "alone"

    def done(self, key: Hashable) -> None:
        """Wake the requests waiting for ``key``, whether or not it was kept."""
        event = self.pending.pop(key, None)
        if event is not None:
            event.set()


def _reads_any(reads: frozenset[str] | None, touched: set[str] | frozenset[str] | None) -> bool:
    """Whether an answer that read ``reads`` (``None``: the whole store) read one of ``touched`` (``None``: anything)."""
    return touched is None or reads is None or not reads.isdisjoint(touched)


async def kept(store: AnswerStore, key: Hashable, compute: Callable[[], Awaitable[T]], size: Callable[[T], int]) -> T:
    """The value of ``key`` from ``store``, computed once by ``compute`` when missing (keys include the data version)."""
    turn = "kept" if store.get(key) is not None else await store.turn(key)
    if turn == "kept":
        return cast(T, store.get(key))
    try:
        value: T = await compute()
        store.put(key, value, size(value))
        return value
    finally:
        if turn == "lead":
            store.done(key)


def _varying(headers: dict[bytes, bytes]) -> tuple[Any, ...]:
    """The request headers an answer varies by (part of its key)."""
    return (headers.get(b"accept", b""), headers.get(b"host", b""), b"gzip" in headers.get(b"accept-encoding", b""),
            headers.get(b"origin"))


def _patient() -> Receive:
    """The receive channel of a client with no body that stays until the answer is complete (no disconnect)."""
    asked = False

    async def receive() -> Message:
        nonlocal asked
        if asked:
            await asyncio.Event().wait()
        asked = True
        return {"type": "http.request", "body": b"", "more_body": False}

    return receive


class AnswerCache:
    """ASGI middleware that answers repeated GET requests of one data version from an ``AnswerStore``."""

    def __init__(self, app: ASGIApp, store: AnswerStore) -> None:
        self.app, self.store = app, store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a kept answer, or pass the request on (one at a time per key) and keep what it answers."""
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = ("answer", scope["method"], scope["path"], scope["query_string"], *_varying(headers))
        if any(name in headers for name in CONDITIONAL):
            await self._revalidate(key, headers, scope, receive, send)
            return
        turn = "kept" if self.store.get(key) is not None else await self.store.turn(key)
        if turn != "kept":
            try:
                await self._compute(key, scope, receive, send)
            finally:
                if turn == "lead":
                    self.store.done(key)
            return
        kept_answer = cast(Answer, self.store.get(key))
        await send({"type": "http.response.start", "status": kept_answer.status,
                    "headers": [*kept_answer.headers, (b"x-cache", b"hit")]})
        await send({"type": "http.response.body", "body": kept_answer.body})

    async def _revalidate(self, key: Hashable, headers: dict[bytes, bytes], scope: Scope, receive: Receive,
                          send: Send) -> None:
        """``304`` when the kept answer's ETag is among those the client holds; otherwise the route decides."""
        kept_answer = cast(Answer | None, self.store.get(key))
        etag = dict(kept_answer.headers).get(b"etag") if kept_answer else None
        if kept_answer is None or etag is None or etag not in headers.get(b"if-none-match", b""):
            await self.app(scope, receive, send)
            return
        unchanged = [(name, value) for name, value in kept_answer.headers if name in REVALIDATED]
        await send({"type": "http.response.start", "status": 304, "headers": [*unchanged, (b"x-cache", b"hit")]})
        await send({"type": "http.response.body", "body": b""})

    async def _compute(self, key: Hashable, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {}
        chunks: list[bytes] = []
        reads: set[str] = set()
        since = self.store.writes
        request = dict(scope)  # as it came, before the framework adds its routing to it

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                message = {**message, "headers": [*message.get("headers", []), (b"x-cache", b"miss")]}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body") and start.get("status") in (200, 303):
                    body = b"".join(chunks)
                    read = None if not reads or EVERYTHING in reads else frozenset(reads)
                    if self.store.still_current(since, read):
                        answer = Answer(start["status"], list(start.get("headers", [])), body, read, request)
                        self.store.put(key, answer, len(body))
            await send(message)

        token = READS.set(reads)
        try:
            await self.app(scope, receive, keep)
        finally:
            READS.reset(token)

    async def refresh(self, answers: list[Answer], limit: int = 256) -> None:
        """Compute dropped answers again, one at a time, so that their next readers find them kept."""

        async def discard(message: Message) -> None:
            return None

        for answer in answers[:limit]:
            if answer.scope is None:
                continue
            scope = dict(answer.scope)
            key = ("answer", scope["method"], scope["path"], scope["query_string"], *_varying(dict(scope["headers"])))
            if self.store.get(key) is not None or await self.store.turn(key) != "lead":
                continue
            try:
                await self._compute(key, scope, _patient(), discard)
            finally:
                self.store.done(key)

    @staticmethod
    def _cacheable(scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return False
        if scope["path"].startswith(UNCACHED):
            return False
        return not any(name in SKIP_HEADERS for name, _ in scope["headers"])
