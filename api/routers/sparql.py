"""SPARQL 1.1 Protocol endpoint: queries, service description and a query page."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from pyoxigraph import NamedNode, RdfFormat, parse, serialize
from starlette.concurrency import run_in_threadpool

from api import writes
from api.auth import require
from api.deps import app_settings, get_pool, get_store
from api.dumps import store_size
from api.negotiation import FORMAT_ALIASES, GRAPH_TYPES, RESULT_TYPES, NotAcceptableError, charset, negotiate
from api.query_pool import QueryError, QueryPool, QueryRequest, RemoteRunner
from api.responses import documents, errors
from api.sparql_guard import data_quads, uses_load, uses_service
from kg import limits
from kg.namespaces import Namespaces
from kg.queries import example_queries
from kg.settings import Settings
from kg.sparql_text import nesting_depth, syntax_error
from kg.store import KGStore, OxigraphStore
from pipeline import gate

router = APIRouter(tags=["sparql"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
SD_TEMPLATE = """@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix void: <http://rdfs.org/ns/void#> .
<{endpoint}> a sd:Service ;
    sd:endpoint <{endpoint}> ;
    sd:supportedLanguage sd:SPARQL11Query ;
    sd:feature sd:UnionDefaultGraph ;
    sd:resultFormat {formats} ;
    sd:defaultDataset [ a sd:Dataset ; sd:defaultGraph [ a sd:Graph ; void:triples {triples} ] ] .
"""
FORMAT_IRIS = {
    "application/sparql-results+json": "http://www.w3.org/ns/formats/SPARQL_Results_JSON",
    "application/sparql-results+xml": "http://www.w3.org/ns/formats/SPARQL_Results_XML",
    "text/csv": "http://www.w3.org/ns/formats/SPARQL_Results_CSV",
    "text/tab-separated-values": "http://www.w3.org/ns/formats/SPARQL_Results_TSV",
    "text/turtle": "http://www.w3.org/ns/formats/Turtle", "application/trig": "http://www.w3.org/ns/formats/TriG",
    "application/n-triples": "http://www.w3.org/ns/formats/N-Triples", "application/n-quads": "http://www.w3.org/ns/formats/N-Quads",
    "application/ld+json": "http://www.w3.org/ns/formats/JSON-LD", "application/rdf+xml": "http://www.w3.org/ns/formats/RDF_XML",
}


def _error(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


def _check_depth(sparql: str, settings: Settings) -> None:
    """Refuse text nested deeper than the setting before any parser sees it (a deep enough nesting exhausts its stack)."""
    depth = nesting_depth(sparql)
    if depth > settings.max_query_depth:
        raise QueryError(400, f"the query nests {depth} levels of brackets deep; the limit is {settings.max_query_depth} "
                              "(setting POEMS_KG_MAX_QUERY_DEPTH)")


async def answer_query(pool: QueryPool | RemoteRunner, settings: Settings, query: str, accept: str | None,
                       fmt: str | None, default_graphs: list[str], named_graphs: list[str]) -> Response:
    """Check and run one SPARQL query (size, no SERVICE, time and result limits in the pool); QueryError if refused."""
    if len(query.encode()) > settings.max_query_bytes:
        raise QueryError(413, f"query is longer than {settings.max_query_bytes} bytes")
    if uses_service(query):
        raise QueryError(400, "SERVICE (federated query) is not allowed on this endpoint")
    _check_depth(query, settings)
    for name, graphs in (("default-graph-uri", default_graphs), ("named-graph-uri", named_graphs)):
        for graph in graphs:
            try:
                NamedNode(graph)
            except ValueError as exc:
                raise QueryError(400, f"{name} '{graph[:200]}' is not an absolute IRI: {exc}") from None
    accept = FORMAT_ALIASES.get(fmt, fmt) if fmt else accept
    media_type, body = await pool.run(QueryRequest(query, tuple(default_graphs), tuple(named_graphs), accept))
    return Response(body, media_type=charset(media_type), headers={"Vary": "Accept"})


async def _answer(request: Request, pool: QueryPool | RemoteRunner, settings: Settings, query: str,
                  default_graphs: list[str], named_graphs: list[str]) -> Response:
    try:
        return await answer_query(pool, settings, query, request.headers.get("accept"),
                                  request.query_params.get("format"), default_graphs, named_graphs)
    except QueryError as exc:
        raise _error(exc.status, exc.message) from None


async def _update(request: Request, update: str, settings: Settings) -> Response:
    """SPARQL 1.1 Update, for tokens with the admin scope, through the write gate (shapes, contradictions)."""
    agent = await require("admin")(request, settings)
    if len(update.encode()) > settings.max_query_bytes:
        raise _error(413, f"update is longer than {settings.max_query_bytes} bytes")
    if uses_service(update) or uses_load(update):
        raise _error(400, "SERVICE and LOAD are not allowed: the server never fetches a URL")
    try:
        _check_depth(update, settings)
    except QueryError as exc:
        raise _error(exc.status, exc.message) from None
    store: KGStore = request.app.state.store
    try:
        OxigraphStore().update(update)  # the syntax, checked on an empty store before anything is copied
    except SyntaxError as exc:
        raise _error(400, f"the update is not valid SPARQL 1.1 Update: {syntax_error(str(exc), update)}") from None
    named = data_quads(update)
    scope = None if named is None else frozenset(named)
    mutate = gate.sparql_update(update, settings) if named is None else gate.data_update(update)
    if scope is None and (refusal := limits.copy_too_large(await run_in_threadpool(len, store), settings.query_memory_bytes)):
        raise _error(413, refusal)
    try:
        added, removed = await run_in_threadpool(gate.change, store, Namespaces(settings.base_iri), agent,
                                                 "sparql-update", mutate, scope, request.app.state.validator)
    except gate.WriteRejected as exc:
        return JSONResponse({"detail": exc.message, "report": exc.report}, status_code=exc.status)
    await writes.after_write(request)
    return JSONResponse({"added": added, "removed": removed})


def _service_description(request: Request, store: KGStore) -> Response:
    """The SPARQL 1.1 service description (blocking: run it in a thread)."""
    endpoint = str(request.url.replace(query=""))
    formats = ", ".join(f"<{iri}>" for iri in FORMAT_IRIS.values())
    turtle = SD_TEMPLATE.format(endpoint=endpoint, formats=formats, triples=store_size(request.app.state, store))
    choice = negotiate(request.headers.get("accept"), dict(GRAPH_TYPES), "text/turtle")
    assert isinstance(choice.format, RdfFormat)
    body = serialize(parse(turtle.encode(), format=RdfFormat.TURTLE), format=choice.format) or b""
    return Response(body, media_type=charset(choice.media_type), headers={"Vary": "Accept"})


@router.get("/sparql", summary="SPARQL query (GET), service description or query page",
            responses={**documents([*RESULT_TYPES, *GRAPH_TYPES, "text/html"], "Query results, the service description, or the "
                                   "query page"), **errors(400, 406, 413, 503)})
async def sparql_get(request: Request, store: Annotated[KGStore, Depends(get_store)],
                     pool: Annotated[QueryPool | RemoteRunner, Depends(get_pool)],
                     settings: Annotated[Settings, Depends(app_settings)],
                     query: Annotated[str | None, Query()] = None,
                     default_graph_uri: Annotated[list[str], Query(alias="default-graph-uri")] = [],  # noqa: B006
                     named_graph_uri: Annotated[list[str], Query(alias="named-graph-uri")] = []) -> Response:  # noqa: B006
    """Run ``query``; with no query, a service description (RDF) or the query page (HTML)."""
    if query is None:
        try:
            choice = negotiate(request.headers.get("accept"), {"text/html": None, **GRAPH_TYPES}, "text/turtle")
        except NotAcceptableError as exc:
            raise _error(406, str(exc)) from None
        if choice.format is None:
            ns = Namespaces(settings.base_iri)
            examples = [{"name": q.name, "title": q.title, "comment": q.comment, "text": q.text} for q in example_queries()]
            return templates.TemplateResponse(request, "query.html", {"examples": examples, "base": ns.base,
                                              "prefixes": ns.prefixes()}, headers={"Vary": "Accept"})
        return await run_in_threadpool(_service_description, request, store)
    return await _answer(request, pool, settings, query, default_graph_uri, named_graph_uri)


@router.post("/sparql", summary="SPARQL query (POST, form-encoded or application/sparql-query)",
             responses={**documents([*RESULT_TYPES, *GRAPH_TYPES], "Query results, or the counts of an update"),
                        **errors(400, 401, 403, 406, 413, 415, 422, 503)})
async def sparql_post(request: Request, pool: Annotated[QueryPool | RemoteRunner, Depends(get_pool)],
                      settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """SPARQL 1.1 Protocol POST: ``application/x-www-form-urlencoded`` or ``application/sparql-query``."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    default_graphs = request.query_params.getlist("default-graph-uri")
    named_graphs = request.query_params.getlist("named-graph-uri")
    if content_type == "application/sparql-query":
        query = (await request.body()).decode("utf-8", errors="replace")
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.form()
        if "update" in form:
            return await _update(request, str(form["update"]), settings)
        query = str(form.get("query") or "")
        default_graphs += [str(v) for v in form.getlist("default-graph-uri")]
        named_graphs += [str(v) for v in form.getlist("named-graph-uri")]
        if not query:
            raise _error(400, "form field 'query' is missing")
    elif content_type == "application/sparql-update":
        return await _update(request, (await request.body()).decode("utf-8", errors="replace"), settings)
    else:
        raise _error(415, f"unsupported content type '{content_type}'; use application/sparql-query or "
                          "application/x-www-form-urlencoded")
    return await _answer(request, pool, settings, query, default_graphs, named_graphs)
