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
keys carry the data version (``app.state.version``), which every write moves on, and a write drops them all. A store of
its own (``app.state.parts``, setting ``claim_parts_bytes``) keeps what each claim contributes to lists of claims
(``claim_parts``: its head, details and RDF description; each term's labels), which changes only when a write touches
the claim: a write adds a claim to a hub's lists, and the lists are computed again from the parts kept, the new claim's
looked up alone.
"""

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kg.reads import EVERYTHING, READS, record

PARTS_ENTRIES = 1 << 20  # a claim's part is over 1 KB: the byte limit bounds their number first
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
class Kept:
    """A value computed from the data, not a response: kept until a write touches what it read (``None``: any write)."""

    value: Any
    reads: frozenset[str] | None = None


@dataclass
class AnswerStore:
    """A least-recently-used map from keys to answers and kept values of a known size, bounded in entries and bytes.

    Answers are kept and served on the event loop; kept values are also read and written by the routes' threads, so
    the map changes under a lock.
    """

    max_entries: int
    max_bytes: int
    entries: OrderedDict[Hashable, tuple[Any, int]] = field(default_factory=OrderedDict)
    size: int = 0
    pending: dict[Hashable, "Computing"] = field(default_factory=dict)  # keys being computed now
    writes: int = 0  # writes seen (``stale``)
    touched: list[tuple[int, frozenset[str] | None]] = field(default_factory=list)  # the latest writes' touched IRIs
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, key: Hashable) -> Any | None:
        """The answer or kept value for ``key``, marked as recently used."""
        with self.lock:
            kept = self.entries.get(key)
            if kept is None:
                return None
            self.entries.move_to_end(key)
        return kept[0]

    def put(self, key: Hashable, value: Answer | Kept, size: int, since: int | None = None) -> None:
        """Keep a value of ``size`` bytes, evicting the least recently used ones beyond the limits.

        ``since``: keep it only if no write since the ``since``-th touched what it read (checked under the lock with
        the put, so that a write from another thread cannot land between the two).
        """
        if size > self.max_bytes // 4 or self.max_entries < 1:
            return
        with self.lock:
            if since is not None and not self._current(since, value.reads):
                return
            replaced = self.entries.pop(key, None)
            self.size += size - (replaced[1] if replaced else 0)
            self.entries[key] = (value, size)
            while len(self.entries) > self.max_entries or self.size > self.max_bytes:
                _, (_, old) = self.entries.popitem(last=False)
                self.size -= old

    def stale(self, touched: set[str] | None) -> list[tuple[Hashable, Answer]]:
        """Record a write that touched ``touched`` (``None``: anything); return the kept answers that read it.

        They are left in place until computed again or dropped (``drop``); kept values that read it are dropped at once.
        """
        with self.lock:
            self.writes += 1
            self.touched = [*self.touched[-255:], (self.writes, frozenset(touched) if touched is not None else None)]
            stale: list[tuple[Hashable, Answer]] = []
            values: list[Hashable] = []
            for key, (value, _) in self.entries.items():
                if not _reads_any(value.reads, touched):
                    continue
                if isinstance(value, Answer):
                    stale.append((key, value))
                else:
                    values.append(key)
            for key in values:
                self.size -= self.entries.pop(key)[1]
        return stale

    def drop(self, stale: list[tuple[Hashable, Answer]]) -> list[tuple[Hashable, Answer]]:
        """Drop the ``stale`` answers still kept as they were (not computed again since); return those dropped."""
        dropped = []
        with self.lock:
            for key, answer in stale:
                kept = self.entries.get(key)
                if kept is not None and kept[0] is answer:
                    self.size -= self.entries.pop(key)[1]
                    dropped.append((key, answer))
        return dropped

    def still_current(self, since: int, reads: frozenset[str] | None) -> bool:
        """Whether no write since the ``since``-th touched what an answer read (it may be kept)."""
        with self.lock:
            return self._current(since, reads)

    def _current(self, since: int, reads: frozenset[str] | None) -> bool:
        """``still_current``, the lock held."""
        if since == self.writes:
            return True
        if not self.touched or self.touched[0][0] > since + 1:  # writes too far back to tell
            return False
        return not any(_reads_any(reads, touched) for n, touched in self.touched if n > since)

    async def turn(self, key: Hashable) -> Turn:
        """What a request that misses ``key`` does, waiting first while another request computes it.

        "lead": compute it (then call ``done``); "kept": take what the first request kept meanwhile; "alone": compute
        it too, all waiters at once, when the first request's answer could not be kept (too large, or an error). When
        it was not kept because a write changed what it read meanwhile, one waiter computes it again while the others
        wait for that one: under a stream of writes, a popular answer is computed once at a time, not by every waiter.
        """
        if self.max_entries < 1:  # nothing is kept: waiting for another request would only delay this one
            return "alone"
        while True:
            computing = self.pending.get(key)
            if computing is None:
                self.pending[key] = Computing()
                return "lead"
            await computing.finished.wait()
            if key in self.entries:
                return "kept"
            if not computing.again:
                return "alone"

    def done(self, key: Hashable, again: bool = False) -> None:
        """Wake the requests waiting for ``key``, whether or not it was kept (``again``: a write made it stale)."""
        computing = self.pending.pop(key, None)
        if computing is not None:
            computing.again = again
            computing.finished.set()


@dataclass
class Computing:
    """An answer being computed: set once it is, with whether a write made it stale before it could be kept."""

    finished: asyncio.Event = field(default_factory=asyncio.Event)
    again: bool = False


def _reads_any(reads: frozenset[str] | None, touched: set[str] | frozenset[str] | None) -> bool:
    """Whether an answer that read ``reads`` (``None``: the whole store) read one of ``touched`` (``None``: anything)."""
    return touched is None or reads is None or not reads.isdisjoint(touched)


async def kept(store: AnswerStore, key: Hashable, compute: Callable[[], Awaitable[T]], size: Callable[[T], int]) -> T:
    """The value of ``key`` from ``store``, computed once by ``compute`` when missing (keys include the data version)."""
    turn = "kept" if store.get(key) is not None else await store.turn(key)
    if turn == "kept":
        return cast(T, cast(Kept, store.get(key)).value)
    try:
        value: T = await compute()
        store.put(key, Kept(value), size(value))
        return value
    finally:
        if turn == "lead":
            store.done(key)


def claim_parts(store: AnswerStore | None, kind: str, claims: list[str],
                compute: Callable[[list[str]], dict[str, bytes]]) -> dict[str, bytes]:
    """What each of ``claims`` contributes to an answer (``kind``: its head, details or description), as bytes.

    Also each term's labels (``claims`` are then terms). Those kept in ``store`` come from there (recorded as read, as
    a query about them would be); ``compute`` looks up the others, all at once, and they are kept until a write touches
    their claim (or term). A claim's part reads the claim's own graphs, whether a newer claim supersedes it (a
    correction touches the claim it corrects) and the labels of the terms it names, which only admin writes change
    (they touch everything).
    """
    if store is None:
        return compute(claims)
    found = {c: cast(Kept, kept).value for c in claims if (kept := store.get((kind, c))) is not None}
    if found:  # (none recorded would mean the whole store)
        record(list(found))
    missing = [c for c in claims if c not in found]
    if missing:
        since = store.writes
        computed = compute(missing)
        for claim, part in computed.items():
            store.put((kind, claim), Kept(part, frozenset([claim])), len(part), since)
        found.update(computed)
    return found


def _varying(headers: dict[bytes, bytes]) -> tuple[Any, ...]:
    """The request headers an answer varies by (part of its key)."""
    return (headers.get(b"accept", b""), headers.get(b"host", b""), b"gzip" in headers.get(b"accept-encoding", b""),
            headers.get(b"origin"))


async def _discard(message: Message) -> None:
    """The send channel of a request nobody waits for (an answer computed again after a write)."""


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
            stale = False
            try:
                stale = await self._compute(key, scope, receive, send)
            finally:
                if turn == "lead":
                    self.store.done(key, again=stale)
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

    async def _compute(self, key: Hashable, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request, keeping the answer if it may be; whether a write made it stale while it was computed."""
        start: Message = {}
        chunks: list[bytes] = []
        reads: set[str] = set()
        since = self.store.writes
        stale = False
        request = dict(scope)  # as it came, before the framework adds its routing to it

        async def keep(message: Message) -> None:
            nonlocal start, stale
            if message["type"] == "http.response.start":
                start = message
                message = {**message, "headers": [*message.get("headers", []), (b"x-cache", b"miss")]}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body") and start.get("status") in (200, 303):
                    body = b"".join(chunks)
                    read = None if not reads or EVERYTHING in reads else frozenset(reads)
                    stale = not self.store.still_current(since, read)
                    if not stale:
                        answer = Answer(start["status"], list(start.get("headers", [])), body, read, request)
                        self.store.put(key, answer, len(body))
            await send(message)

        token = READS.set(reads)
        try:
            await self.app(scope, receive, keep)
        finally:
            READS.reset(token)
        return stale

    async def renew(self, stale: list[tuple[Hashable, Answer]], budget_s: float) -> None:
        """Compute the ``stale`` answers again, side by side, waiting up to ``budget_s`` seconds; old ones served meanwhile.

        Those not done by then go on, and are kept if they finish before another write touches what they read. Called
        by a write before it is acknowledged: a reader meanwhile may get the answer from before the write, as it
        could before the write began; each new answer replaces the old one, so the first reader after the write is
        acknowledged finds it warm instead of waiting for it.
        """
        if not stale or budget_s <= 0:
            return
        await asyncio.wait([asyncio.create_task(self._again(key, answer)) for key, answer in stale[:64]], timeout=budget_s)

    async def refresh(self, answers: list[tuple[Hashable, Answer]], limit: int = 256) -> None:
        """Compute dropped answers again, one at a time, so that their next readers find them kept."""
        for key, answer in answers[:limit]:
            if self.store.get(key) is None:
                await self._again(key, answer)

    async def _again(self, key: Hashable, answer: Answer) -> None:
        """Compute ``answer`` again under ``key`` from the request that first asked for it, keeping it if it may be."""
        if answer.scope is None or await self.store.turn(key) != "lead":
            return
        stale = False
        try:
            stale = await self._compute(key, dict(answer.scope), _patient(), _discard)
        finally:
            self.store.done(key, again=stale)

    @staticmethod
    def _cacheable(scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return False
        if scope["path"].startswith(UNCACHED):
            return False
        return not any(name in SKIP_HEADERS for name, _ in scope["headers"])
