"""SPARQL 1.1 Graph Store HTTP Protocol (indirect identification): ``/rdf-graphs/service?graph=<IRI>``.

GET reads a named graph (anyone); PUT replaces, POST adds to and DELETE drops it (admin scope), each through the
write gate: the nanopublications it touches must still conform to the shapes and no contradiction may appear.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pyoxigraph import NamedNode, Quad, RdfFormat, parse
from starlette.concurrency import run_in_threadpool

from api import writes
from api.auth import Agent, require
from api.deps import app_settings, get_pool, get_store
from api.negotiation import GRAPH_TYPES, NotAcceptableError, charset, negotiate
from api.query_pool import QueryError, QueryPool, QueryRequest, RemoteRunner
from api.responses import documents, errors
from kg.namespaces import Namespaces
from kg.rdf_input import InputLimitError, bounded, check_xml_entities, is_xml
from kg.settings import Settings
from kg.store import KGStore, OxigraphStore
from pipeline import gate

router = APIRouter(prefix="/rdf-graphs", tags=["Graph Store Protocol"])
GraphParam = Annotated[str, Query(description="IRI of the named graph", max_length=2000)]
GRAPH_QUERY = "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }} ORDER BY ?s ?p ?o"
TRIPLE_TYPES = {media: fmt for media, fmt in GRAPH_TYPES.items() if fmt in (
    RdfFormat.TURTLE, RdfFormat.N_TRIPLES, RdfFormat.RDF_XML, RdfFormat.JSON_LD)}
WRITES = errors(400, 401, 403, 413, 415, 422, 503)  # what a write through the gate may answer


def _graph(iri: str) -> NamedNode:
    try:
        return NamedNode(iri)
    except ValueError as exc:
        raise HTTPException(400, f"'graph' is not an IRI: {exc}") from None


def _exists(store: KGStore, graph: NamedNode) -> bool:
    return bool(store.query(f"ASK {{ GRAPH {graph} {{ ?s ?p ?o }} }}"))


async def _body(request: Request, graph: NamedNode) -> list[Quad]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = RdfFormat.from_media_type(media) if media else None
    if fmt not in TRIPLE_TYPES.values():
        raise HTTPException(415, f"unsupported content type '{media}'; send one of {', '.join(TRIPLE_TYPES)}")
    body, settings = await request.body(), request.app.state.settings
    try:
        if is_xml(fmt):
            check_xml_entities(body, (), settings.max_xml_expansion_bytes)
        triples = list(bounded(parse(body, format=fmt, base_iri=graph.value), settings.max_literal_chars,
                               settings.max_request_quads))
    except InputLimitError as exc:
        raise HTTPException(413, f"the body is refused: {exc}; nothing was written") from None
    except SyntaxError as exc:
        raise HTTPException(400, f"the body is not valid {media}: {exc}") from None
    return [Quad(t.subject, t.predicate, t.object, graph) for t in triples]


async def _change(request: Request, store: KGStore, settings: Settings, agent: Agent, action: str,
                  mutate: gate.Mutation, graph: NamedNode) -> JSONResponse | None:
    """Run a change of one graph through the write gate (only that graph is copied to try it)."""
    try:
        await run_in_threadpool(gate.change, store, Namespaces(settings.base_iri), agent, action, mutate, [graph],
                                request.app.state.validator)
    except gate.WriteRejected as exc:
        return JSONResponse({"detail": exc.message, "report": exc.report}, status_code=exc.status)
    await writes.after_write(request)
    return None


@router.get("/service", responses={**documents(TRIPLE_TYPES, "The graph"), **errors(400, 404, 406, 503)})
async def get_graph(request: Request, graph: GraphParam, store: Annotated[KGStore, Depends(get_store)],
                    pool: Annotated[QueryPool | RemoteRunner, Depends(get_pool)]) -> Response:
    """The triples of a named graph, in the negotiated RDF format, read by the query workers (time, memory and size limits)."""
    node = _graph(graph)
    try:
        choice = negotiate(request.headers.get("accept"), dict(TRIPLE_TYPES), "text/turtle")
    except NotAcceptableError as exc:
        raise HTTPException(406, str(exc)) from None
    if not await run_in_threadpool(_exists, store, node):
        raise HTTPException(404, f"no graph {graph} in poems-kg")
    try:
        media_type, body = await pool.run(QueryRequest(GRAPH_QUERY.format(graph=node), accept=choice.media_type))
    except QueryError as exc:
        raise HTTPException(exc.status, exc.message) from None
    return Response(body, media_type=charset(media_type))


@router.put("/service", status_code=204, responses={201: {"description": "Created"}, **WRITES})
async def put_graph(request: Request, graph: GraphParam, agent: Annotated[Agent, Depends(require("admin"))],
                    store: Annotated[KGStore, Depends(get_store)], settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """Replace a named graph with the body (admin)."""
    node = _graph(graph)
    quads = await _body(request, node)
    existed = _exists(store, node)

    def replace(trial: OxigraphStore) -> None:
        trial.update(f"DROP SILENT GRAPH {node}")
        trial.load(quads)

    rejected = await _change(request, store, settings, agent, "graph-put", replace, node)
    return rejected or Response(status_code=204 if existed else 201)


@router.post("/service", status_code=204, responses=WRITES)
async def post_graph(request: Request, graph: GraphParam, agent: Annotated[Agent, Depends(require("admin"))],
                     store: Annotated[KGStore, Depends(get_store)], settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """Add the body's triples to a named graph (admin)."""
    node = _graph(graph)
    quads = await _body(request, node)
    rejected = await _change(request, store, settings, agent, "graph-post", lambda trial: trial.load(quads), node)
    return rejected or Response(status_code=204)


@router.delete("/service", status_code=204, responses={**WRITES, **errors(404)})
async def delete_graph(request: Request, graph: GraphParam, agent: Annotated[Agent, Depends(require("admin"))],
                       store: Annotated[KGStore, Depends(get_store)], settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """Drop a named graph (admin)."""
    node = _graph(graph)
    if not _exists(store, node):
        raise HTTPException(404, f"no graph {graph} in poems-kg")
    rejected = await _change(request, store, settings, agent, "graph-delete", lambda trial: trial.update(f"DROP GRAPH {node}"),
                             node)
    return rejected or Response(status_code=204)
