"""The FastAPI application: builds or opens the store at start-up and mounts the routers."""

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.board import Board
from api.cache import PARTS_ENTRIES, AnswerCache, AnswerStore
from api.dumps import forget_derived
from api.fast_path import GZIP_MIN_BYTES, FastPath, too_large
from api.query_pool import QueryPool, RemoteRunner
from api.routers import api_v1, cds, fhir, graph_store, linked_data, sparql, trapi, void
from api.source_spans import SourceSpans
from api.warm import warm
from kg import __version__
from kg.isolated import allocator_env
from kg.namespaces import Namespaces
from kg.settings import Settings, get_settings
from kg.store import KGStore, OxigraphStore, RemoteStore, StoreError
from kg.trusty import configured_signer
from ontology.reason import ReasoningError, reason
from pipeline.build import build
from pipeline.bulk import recover
from pipeline.readers.folder import load_all
from shapes.validator import ValidatorProcess


def open_store(settings: Settings) -> KGStore:
    """The configured store (a SPARQL server, an on-disk folder, or memory); when empty, the KG is built into it."""
    store: KGStore
    if settings.sparql_endpoint:
        store = RemoteStore.from_settings(settings)
    else:
        store = OxigraphStore(settings.store_path)
    if len(store) == 0:
        result = build(settings.kg_dir, settings.base_iri,
                       signer=configured_signer(settings.sign_key_file, settings.signer))
        quads = result.quads
        if settings.reason_on_start:
            report = reason(result.quads, result.ns, result.files)
            if not report.consistent:
                raise ReasoningError(f"the knowledge graph is inconsistent: {report.explanation}; claims: {report.offending_claims}")
            quads = [*quads, *report.inferred]
        store.load(quads)
    recover(store, Namespaces(settings.base_iri))  # an import killed before its end is undone: its graph is absent
    if isinstance(store, OxigraphStore):
        store.flush()
    else:
        store.check_union_default_graph()
    return store


DOCS = "/static/docs"  # Swagger UI and Redoc, shipped with the package (`make static`)
# The documentation pages may load only from this server (and run their own inline start-up and workers).
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' blob:; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; worker-src 'self' blob:")

def query_runner(store: KGStore, settings: Settings) -> QueryPool | RemoteRunner:
    """Killable worker processes for the embedded store; a bounded wait for a server that has its own time limit."""
    if isinstance(store, OxigraphStore):
        return QueryPool(store, settings.query_workers, settings.query_timeout_s, settings.max_result_bytes,
                         settings.query_memory_bytes, allocator_env(settings.query_allocator))
    assert isinstance(store, RemoteStore), "a store is embedded or remote"
    return RemoteRunner(store, settings.query_timeout_s, settings.max_result_bytes)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, whether announced (Content-Length) or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = too_large(self.limit)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.limit:
            await JSONResponse({"detail": message}, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            event = await receive()
            seen += len(event.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, message)
            return event

        await self.app(scope, counted, send)


class PoemsKG(FastAPI):
    """The application. A kept answer is served before any layer of the framework runs (``api.cache.AnswerCache``)."""

    def __init__(self, answers: AnswerStore, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state.answers = answers
        self.cached = AnswerCache(self.framework, answers)

    async def framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The framework's own handling: middleware, routing, the routes."""
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A kept answer, or the framework's; ``HEAD`` is answered as ``GET`` is, headers only."""
        scope["app"] = self
        if scope["type"] == "http" and scope["method"] == "HEAD":
            await self.cached({**scope, "method": "GET"}, receive, headers_only(send))
            return
        await self.cached(scope, receive, send)


def _docs_page(page: HTMLResponse) -> HTMLResponse:
    """A documentation page in English, kept to this server by its content security policy."""
    return HTMLResponse(bytes(page.body).replace(b"<html>", b'<html lang="en">', 1), headers={"Content-Security-Policy": DOCS_POLICY})


def allowed_methods(request: Request) -> list[str]:
    """The methods some route answers at the request's path (HEAD wherever GET is)."""
    methods = {m for m in ("DELETE", "GET", "PATCH", "POST", "PUT") for route in request.app.routes
               if route.matches({**request.scope, "method": m})[0] == Match.FULL}
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


def headers_only(send: Send) -> Send:
    """``send`` for a ``HEAD`` request: the status and headers of the ``GET`` answer (its length included), no body."""
    async def send_headers(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
        elif not message.get("more_body", False):
            await send({"type": "http.response.body", "body": b""})

    return send_headers


def served(settings: Settings) -> FastAPI:
    """The application over the configured store (``open_store``): all ``poems-kg serve`` needs of this package."""
    return create_app(settings, store=open_store(settings))


def create_app(settings: Settings | None = None, store: KGStore | None = None, board: Board | None = None) -> FastAPI:
    """Create the application; ``store`` overrides the configured one (tests, embedding).

    ``board``: where the application, the writer among several serving processes, publishes each data version
    (``api.processes``); its version 0 is published before.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.store = store if store is not None else open_store(settings)
        app.state.board = board
        app.state.loaded_at = board.written(0) if board else datetime.now(UTC).replace(microsecond=0)
        app.state.version = 0  # moved on by every write (writes.after_write): the key of values kept for POST routes
        app.state.refreshing = set()  # answers being computed again after a write (writes.after_write)
        app.state.spans = SourceSpans()  # the order of each source's quotes, for the pages of its document
        app.state.parts = AnswerStore(PARTS_ENTRIES, settings.claim_parts_bytes)  # each claim's, for lists of claims
        app.state.sources, _ = load_all(settings.kg_dir, Namespaces(settings.base_iri))
        app.state.signer = configured_signer(settings.sign_key_file, settings.signer)  # signs what writes make
        app.state.pool = query_runner(app.state.store, settings)
        await app.state.pool.start()
        app.state.validator = ValidatorProcess(settings.query_memory_bytes)  # the shapes of writes, run apart
        stop = threading.Event()  # the largest lists, computed in the background (api.warm) until shut-down
        app.state.warming = asyncio.create_task(asyncio.to_thread(warm, app.state, settings.warm_claims, stop))
        try:
            yield
        finally:
            stop.set()
            await app.state.warming
            await app.state.pool.close()
            await asyncio.to_thread(app.state.validator.close)
            forget_derived(app.state)

    app = PoemsKG(AnswerStore(settings.answer_cache_entries, settings.answer_cache_bytes), title="poems-kg",
                  version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Curated claims about the cause of POEMS syndrome: SPARQL, linked data and JSON.")
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "PUT", "DELETE"],
                       allow_headers=["*"])
    app.add_middleware(FastPath)  # outermost middleware: a plain query or a hook call skips every layer below
    app.mount("/static", StaticFiles(directory=Path(__file__).resolve().parent / "static"), name="static")
    app.include_router(sparql.router)
    app.include_router(linked_data.router)
    app.include_router(void.router)
    app.include_router(api_v1.router)
    app.include_router(fhir.router)
    app.include_router(cds.router)
    app.include_router(trapi.router)
    app.include_router(graph_store.router)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        """The API documentation (Swagger UI), from the files the package ships: no request leaves the machine."""
        page = get_swagger_ui_html(openapi_url="/openapi.json", title="poems-kg API", swagger_js_url=f"{DOCS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS}/swagger-ui.css", swagger_favicon_url=f"{DOCS}/favicon-32x32.png",
                                   swagger_ui_parameters={"validatorUrl": None})
        return _docs_page(page)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        """The API documentation (Redoc), from the files the package ships."""
        page = get_redoc_html(openapi_url="/openapi.json", title="poems-kg API", redoc_js_url=f"{DOCS}/redoc.standalone.js",
                              redoc_favicon_url=f"{DOCS}/favicon-32x32.png", with_google_fonts=False)
        return _docs_page(page)  # Redoc's footer logo would come from its CDN

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        """422 naming each field that is wrong; non-ASCII escaped, so that any input, even a lone surrogate, is echoed."""
        if request.url.path.startswith(fhir.router.prefix):
            fields: list[str | None] = [".".join(map(str, e["loc"])) for e in exc.errors()]
            return fhir.operation_outcome(422, "; ".join(f"{f}: {e['msg']}" for f, e in zip(fields, exc.errors(), strict=True))
                                          .encode("ascii", "backslashreplace").decode(), fields)
        body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
        return Response(body, status_code=422, media_type="application/json")

    @app.exception_handler(StoreError)
    async def store_failed(request: Request, exc: StoreError) -> Response:
        """The store failed (a SPARQL server behind poems-kg, the embedded store's disk): 502 to 507, saying so."""
        if request.url.path.startswith(fhir.router.prefix):
            return fhir.operation_outcome(exc.status, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Errors as a page for browsers, an ``OperationOutcome`` under ``/fhir``, JSON ``{"detail": ...}`` otherwise."""
        if exc.status_code == 405:  # every method of the path, not only those of the first route that matched it
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed_methods(request))}
        if request.url.path.startswith(fhir.router.prefix):
            default = {404: f"no FHIR resource or operation at {request.url.path}",
                       405: f"{request.method} is not supported at {request.url.path}"}
            detail = default.get(exc.status_code, "") if exc.detail == HTTPStatus(exc.status_code).phrase else str(exc.detail)
            return fhir.operation_outcome(exc.status_code, detail or str(exc.detail), headers=exc.headers)
        if exc.status_code == 404 and "text/html" in request.headers.get("accept", ""):
            return linked_data.templates.TemplateResponse(request, "not_found.html", {"detail": exc.detail}, status_code=404)
        return await http_exception_handler(request, exc)

    return app
