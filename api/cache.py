"""Answers kept per data version: a GET that was answered once is answered again from memory until the data changes.

The data changes only through poems-kg's own write paths, each of which ends in ``writes.after_write``, which moves
``app.state.version`` on. The version is part of every key, so no answer computed before a write is served after it.
The cache is bounded in entries and bytes (settings ``answer_cache_entries`` and ``answer_cache_bytes``) and evicts
the least recently used answer. Not kept: ``/sparql`` and the Graph Store endpoint (a query may use ``NOW()`` or
``RAND()``), requests with credentials or conditional headers (the routes answer those), and anything but a 200 or
303 answer.
"""

from collections import OrderedDict
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNCACHED = ("/sparql", "/rdf-graphs", "/docs", "/openapi.json")
SKIP_HEADERS = (b"authorization", b"if-none-match", b"if-modified-since", b"cookie")


@dataclass
class Answer:
    """A complete response: status, headers and body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class AnswerStore:
    """A least-recently-used map from request keys to answers, bounded in entries and bytes."""

    max_entries: int
    max_bytes: int
    entries: OrderedDict[tuple[object, ...], Answer] = field(default_factory=OrderedDict)
    size: int = 0

    def get(self, key: tuple[object, ...]) -> Answer | None:
        """The answer kept for ``key``, marked as recently used."""
        answer = self.entries.get(key)
        if answer is not None:
            self.entries.move_to_end(key)
        return answer

    def put(self, key: tuple[object, ...], answer: Answer) -> None:
        """Keep an answer, evicting the least recently used ones beyond the limits."""
        if len(answer.body) > self.max_bytes // 4 or self.max_entries < 1:
            return
        replaced = self.entries.pop(key, None)  # concurrent misses of one request all store their answer
        self.size += len(answer.body) - (len(replaced.body) if replaced else 0)
        self.entries[key] = answer
        while len(self.entries) > self.max_entries or self.size > self.max_bytes:
            _, old = self.entries.popitem(last=False)
            self.size -= len(old.body)


class AnswerCache:
    """ASGI middleware that answers repeated GET requests of one data version from an ``AnswerStore``."""

    def __init__(self, app: ASGIApp, store: AnswerStore) -> None:
        self.app, self.store = app, store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a kept answer, or pass the request on and keep what it answers."""
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = (scope["app"].state.version, scope["method"], scope["path"], scope["query_string"],
               headers.get(b"accept", b""), headers.get(b"host", b""))
        kept = self.store.get(key)
        if kept is not None:
            await send({"type": "http.response.start", "status": kept.status, "headers": [*kept.headers, (b"x-cache", b"hit")]})
            await send({"type": "http.response.body", "body": kept.body})
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                message = {**message, "headers": [*message.get("headers", []), (b"x-cache", b"miss")]}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body") and start.get("status") in (200, 303):
                    self.store.put(key, Answer(start["status"], list(start.get("headers", [])), b"".join(chunks)))
            await send(message)

        await self.app(scope, receive, keep)

    @staticmethod
    def _cacheable(scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return False
        if scope["path"].startswith(UNCACHED):
            return False
        return not any(name in SKIP_HEADERS for name, _ in scope["headers"])
