"""A TRAPI 1.5 knowledge provider (``/trapi``): the meta knowledge graph and one-hop queries (``api.trapi``)."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api import trapi
from api.deps import app_settings, get_store
from api.responses import errors
from kg.namespaces import Namespaces
from kg.settings import Settings
from kg.store import KGStore

router = APIRouter(prefix="/trapi", tags=["TRAPI"])
PROVIDER = "poems:infores-poems-kg"  # minted in ontology/poems-kg.ttl: the Information Resource Registry has none
MAX_RESULTS = 10_000
QUERY_EXAMPLE = {"message": {"query_graph": {
    "nodes": {"n0": {"ids": ["MONDO:0017364"]}, "n1": {"categories": ["biolink:PhenotypicFeature"]}},
    "edges": {"e0": {"subject": "n0", "object": "n1", "predicates": ["biolink:has_phenotype"]}}}}}


@router.get("/meta_knowledge_graph", summary="What this knowledge provider answers")
def meta_knowledge_graph(store: Annotated[KGStore, Depends(get_store)],
                         settings: Annotated[Settings, Depends(app_settings)]) -> dict[str, Any]:
    """Node categories with their id prefixes, and each (subject category, predicate, object category) of the edges."""
    return trapi.meta_knowledge_graph(store, Namespaces(settings.base_iri))


@router.post("/query", summary="Answer a one-hop TRAPI query", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "required": ["message"]}, "example": QUERY_EXAMPLE}}}},
    responses=errors(400, 413))
async def query(request: Request, store: Annotated[KGStore, Depends(get_store)],
                settings: Annotated[Settings, Depends(app_settings)]) -> JSONResponse:
    """One-hop query graphs, ``set_interpretation`` BATCH; predicates and categories match their Biolink descendants.

    A claim the source disputes comes with ``biolink:negated`` true, a hypothesis with knowledge level ``prediction``;
    a claim that the evidence is insufficient is never a result (README, "Biolink exchange").
    """
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(400, f"the request body is not JSON: {exc}") from None
    try:
        answer = await run_in_threadpool(trapi.answer, store, Namespaces(settings.base_iri), body, PROVIDER, MAX_RESULTS)
    except trapi.QueryGraphError as exc:
        raise HTTPException(400, str(exc)) from None
    except trapi.TooManyResultsError as exc:
        raise HTTPException(413, str(exc)) from None
    return JSONResponse(answer)
