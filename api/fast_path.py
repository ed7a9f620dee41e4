"""The two requests that load repeats, answered before the framework's middleware and routing.

``GET /sparql?query=...`` is the request that load puts on the engine, and a CDS Hooks call is what an EHR sends on
every chart it opens; every layer of the framework costs Python time per request.

Only requests that the full stack would answer exactly the same way take this path, and no ``Origin`` header (so CORS
adds nothing):

- ``GET /sparql`` with one ``query`` (and at most one ``format``) and no dataset parameters. Same checks and answer as
  the route (``routers.sparql.answer_query``: size limit, no SERVICE, the pool's time and result limits).
- ``POST`` to the CDS Hooks service. Same body limit (``BodyLimit``) and answer (``routers.cds.hook_cards``) as the route.

Answers are compressed as ``GZipMiddleware`` would. Everything else passes on untouched.
"""

import gzip
from urllib.parse import parse_qs

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.query_pool import QueryError
from api.routers.cds import SERVICE_ID, hook_cards
from api.routers.sparql import answer_query

GZIP_MIN_BYTES = 1000  # the threshold of the application's GZipMiddleware too
CDS_PATH = f"/cds-services/{SERVICE_ID}"


def too_large(limit: int) -> str:
    """The refusal of a request body over the limit (setting ``max_body_bytes``)."""
    return f"the request body is larger than the limit of {limit} bytes (setting POEMS_KG_MAX_BODY_BYTES)"


class FastPath:
    """ASGI middleware: plain SPARQL queries straight to the query pool, CDS Hooks calls straight to their cards."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a plain query or a hook call here; pass anything else on."""
        params = self._plain_query(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        hook = scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == CDS_PATH
        if not (params or hook) or any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        headers, state = dict(scope["headers"]), scope["app"].state
        try:
            if params:
                response = await answer_query(state.pool, state.settings, params["query"][0],
                                              headers.get(b"accept", b"").decode("latin-1") or None,
                                              params.get("format", [None])[0], [], [])
            else:
                response = await hook_cards(state, await self._body(receive, headers, state.settings.max_body_bytes))
        except QueryError as exc:
            response = JSONResponse({"detail": exc.message}, status_code=exc.status)
        except HTTPException as exc:
            response = JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        await self._compressed(response, headers)(scope, receive, send)

    @staticmethod
    def _compressed(response: Response, headers: dict[bytes, bytes]) -> Response:
        if b"gzip" in headers.get(b"accept-encoding", b"") and len(response.body) >= GZIP_MIN_BYTES:
            response.body = gzip.compress(response.body, compresslevel=9)
            response.headers["content-encoding"] = "gzip"
            response.headers["content-length"] = str(len(response.body))
            response.headers["vary"] = ", ".join(filter(None, [response.headers.get("vary"), "Accept-Encoding"]))
        return response

    @staticmethod
    async def _body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
        """The whole request body, or 413 past ``limit`` bytes (announced or streamed), as ``BodyLimit`` answers."""
        message = too_large(limit)
        length = headers.get(b"content-length", b"0")
        if length.isdigit() and int(length) > limit:
            raise HTTPException(413, message)
        chunks: list[bytes] = []
        seen, more = 0, True
        while more:
            event = await receive()
            if event["type"] == "http.disconnect":
                break
            chunks.append(event.get("body", b""))
            seen += len(chunks[-1])
            if seen > limit:
                raise HTTPException(413, message)
            more = event.get("more_body", False)
        return b"".join(chunks)

    @staticmethod
    def _plain_query(scope: Scope) -> dict[str, list[str]] | None:
        """The parameters of ``GET /sparql`` with one ``query``, at most one ``format`` and nothing else; else None."""
        if scope["path"] != "/sparql":
            return None
        params = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        if set(params) - {"query", "format"} or len(params.get("query", [])) != 1 or len(params.get("format", [])) > 1:
            return None
        return params
