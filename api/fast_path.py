"""The plain SPARQL GET, answered before the framework's middleware and routing.

``GET /sparql?query=...`` is the request that load puts on the engine, and every layer costs Python time per request.

Only requests that the full stack would answer exactly the same way take this path: ``GET /sparql`` with one
``query`` (and at most one ``format``), no ``Origin`` header (so CORS adds nothing) and no dataset parameters. They get
the same checks and the same answer (``routers.sparql.answer_query``: size limit, no SERVICE, the pool's time and
result limits), compressed as ``GZipMiddleware`` would. Everything else passes on untouched.
"""

import gzip
from urllib.parse import parse_qs

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.query_pool import QueryError
from api.routers.sparql import answer_query

GZIP_MIN_BYTES = 1000  # the threshold of the application's GZipMiddleware too


class SparqlFastPath:
    """ASGI middleware: plain SPARQL queries straight to the query pool."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a plain query here; pass anything else on."""
        params = self._plain_query(scope)
        if params is None:
            await self.app(scope, receive, send)
            return
        state, headers = scope["app"].state, dict(scope["headers"])
        try:
            response = await answer_query(state.pool, state.settings, params["query"][0],
                                          headers.get(b"accept", b"").decode("latin-1") or None,
                                          params.get("format", [None])[0], [], [])
        except QueryError as exc:
            await JSONResponse({"detail": exc.message}, status_code=exc.status)(scope, receive, send)
            return
        if b"gzip" in headers.get(b"accept-encoding", b"") and len(response.body) >= GZIP_MIN_BYTES:
            response.body = gzip.compress(response.body, compresslevel=9)
            response.headers["content-encoding"] = "gzip"
            response.headers["content-length"] = str(len(response.body))
            response.headers["vary"] = "Accept, Accept-Encoding"
        await response(scope, receive, send)

    @staticmethod
    def _plain_query(scope: Scope) -> dict[str, list[str]] | None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/sparql":
            return None
        if any(name == b"origin" for name, _ in scope["headers"]):
            return None
        params = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        if set(params) - {"query", "format"} or len(params.get("query", [])) != 1 or len(params.get("format", [])) > 1:
            return None
        return params
