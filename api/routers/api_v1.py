"""JSON API for applications (``/api/v1``): entities by CURIE or clinical code, their claims, etiology summaries."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api import clinical, writes
from api.auth import Agent, require
from api.cache import AnswerStore
from api.deps import app_settings, get_store, kept_parts
from api.routers.linked_data import SAFE_NAME
from kg.direction import FORMER_CERTAINTIES
from kg.namespaces import CurieError, Namespaces
from kg.settings import Settings
from kg.store import KGStore
from pipeline import gate

router = APIRouter(prefix="/api/v1", tags=["JSON API"])
CurieParam = Annotated[str, Path(description="A CURIE of the graph or of a mapped code system", examples=["MONDO:0017364"],
                                 max_length=200)]
ERRORS: dict[int | str, dict[str, object]] = {404: {"description": "Nothing in poems-kg has this identifier"},
                                               422: {"description": "The identifier or a parameter is malformed"}}


def _ns(settings: Settings) -> Namespaces:
    return Namespaces(settings.base_iri)


def _resolve(store: KGStore, ns: Namespaces, curie: str) -> str:
    try:
        return clinical.resolve(store, ns, curie)
    except CurieError as exc:
        raise HTTPException(422, str(exc)) from None
    except clinical.UnknownEntityError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/entities/{curie}", response_model=clinical.Entity, responses=ERRORS)
def get_entity(curie: CurieParam, store: Annotated[KGStore, Depends(get_store)],
               settings: Annotated[Settings, Depends(app_settings)]) -> clinical.Entity:
    """An entity with its own coding and every code mapped to it (FHIR-style ``{system, code, display}``).

    Any code that is an exact match of an entity resolves to that entity (``SCTID:79268002`` gives POEMS syndrome).
    """
    ns = _ns(settings)
    return clinical.entity(store, ns, _resolve(store, ns, curie))


@router.get("/lookup", response_model=list[clinical.Match], responses=ERRORS)
def lookup(system: Annotated[str, Query(description="Code system URI, as in a FHIR Coding",
                                        examples=["http://hl7.org/fhir/sid/icd-10-cm"], max_length=200)],
           code: Annotated[str, Query(description="The code in that system", examples=["D47.2"], max_length=100)],
           store: Annotated[KGStore, Depends(get_store)],
           settings: Annotated[Settings, Depends(app_settings)]) -> list[clinical.Match]:
    """The entities a clinical code stands for, with how closely (``skos:exactMatch`` first; a broader code says so)."""
    ns = _ns(settings)
    try:
        curie = ns.from_coding(system, code)
    except CurieError as exc:
        raise HTTPException(422, str(exc)) from None
    iri = ns.expand(curie)
    matches = clinical.lookup(store, ns, iri)
    if not matches:
        try:
            own = clinical.entity(store, ns, iri)
        except clinical.UnknownEntityError:
            raise HTTPException(404, f"no entity of poems-kg has the code {code} of {system}") from None
        matches = [clinical.Match(entity=own, relationship="skos:exactMatch")]
    return matches


@router.get("/entities/{curie}/claims", response_model=clinical.ClaimPage, responses=ERRORS)
def entity_claims(curie: CurieParam, store: Annotated[KGStore, Depends(get_store)],
                  settings: Annotated[Settings, Depends(app_settings)], kept: Annotated[AnswerStore, Depends(kept_parts)],
                  predicate: Annotated[str | None, Query(description="Only claims with this predicate (CURIE)",
                                                         examples=["biolink:has_mode_of_inheritance"], max_length=200)] = None,
                  direction: Annotated[clinical.DirectionName | None, Query(description="Only claims of this direction")] = None,
                  negated: Annotated[bool | None, Query(description="Only disputed (true) or only not disputed (false) claims")] = None,
                  certainty: Annotated[Literal["established", "consensus", "hypothesis", "no_evidence"] | None, Query(
                      description="established or consensus; 'hypothesis' and 'no_evidence' are deprecated aliases of "
                                  "direction=hypothesis and direction=insufficient_evidence")] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> clinical.ClaimPage:
    """The claims about an entity, each with its direction, quote, source and claim IRI; filtered, then paged."""
    ns = _ns(settings)
    iri = _resolve(store, ns, curie)
    predicate_iri = None
    if predicate is not None:
        try:
            predicate_iri = ns.expand(predicate)
        except CurieError as exc:
            raise HTTPException(422, f"predicate: {exc}") from None
    if certainty in FORMER_CERTAINTIES:
        if direction not in (None, FORMER_CERTAINTIES[certainty]):
            raise HTTPException(422, f"certainty={certainty} means direction={FORMER_CERTAINTIES[certainty]}, "
                                     f"which conflicts with direction={direction}")
        direction, certainty = FORMER_CERTAINTIES[certainty], None  # type: ignore[assignment]
    found = [c.iri for c in clinical.heads(store, ns, [iri], kept=kept)
             if (predicate_iri is None or c.predicate.iri == predicate_iri) and (direction is None or c.direction == direction)
             and (negated is None or c.negated == negated) and (certainty is None or c.certainty == certainty)]
    return clinical.ClaimPage(total=len(found), offset=offset, limit=limit,
                              items=clinical.details(store, ns, found[offset:offset + limit], kept))


@router.get("/conditions/{curie}/etiology", response_model=clinical.Etiology, responses=ERRORS)
def etiology(curie: CurieParam, store: Annotated[KGStore, Depends(get_store)],
             settings: Annotated[Settings, Depends(app_settings)], kept: Annotated[AnswerStore, Depends(kept_parts)],
             limit: Annotated[int, Query(ge=1, le=500, description="The most claims each section lists in full")]
             = clinical.ETIOLOGY_LIMIT) -> clinical.Etiology:
    """What the sources say about the cause of a condition, in one call.

    Mechanism, inheritance, etiology status, risk factors, what a source disputes, hypotheses under investigation, what
    a source says the evidence is insufficient for, and where sources disagree. Every claim keeps its direction. Each
    section lists up to ``limit`` claims; ``totals`` says how many it has, and ``more`` gives the next page of each
    section that has more (``/etiology/{section}``).
    """
    ns = _ns(settings)
    return clinical.etiology(store, ns, _resolve(store, ns, curie), limit, kept)


@router.get(clinical.SECTION_PATH.removeprefix("/api/v1"), response_model=clinical.ClaimPage, responses=ERRORS)
def etiology_section(curie: CurieParam, section: clinical.EtiologySection, store: Annotated[KGStore, Depends(get_store)],
                     settings: Annotated[Settings, Depends(app_settings)], kept: Annotated[AnswerStore, Depends(kept_parts)],
                     limit: Annotated[int, Query(ge=1, le=500)] = clinical.ETIOLOGY_LIMIT,
                     offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> clinical.ClaimPage:
    """One section of a condition's etiology summary, a page at a time, in the summary's order."""
    ns = _ns(settings)
    return clinical.etiology_section(store, ns, _resolve(store, ns, curie), section, offset, limit, kept)


@router.get("/disagreements", response_model=list[clinical.Disagreement], responses=ERRORS)
def disagreements(store: Annotated[KGStore, Depends(get_store)], settings: Annotated[Settings, Depends(app_settings)],
                  entity: Annotated[str | None, Query(description="Only statements about this entity (CURIE or mapped code)",
                                                      examples=["MONDO:0017364"], max_length=200)] = None,
                  ) -> list[clinical.Disagreement]:
    """Statements that one source supports and another disputes, with both claims, sources and quotes.

    Disagreement between sources is kept, not refused: this lists it. (A source that contradicts itself is refused at
    build and write time, and never appears here.)
    """
    ns = _ns(settings)
    return clinical.disagreements(store, ns, None if entity is None else [_resolve(store, ns, entity)])


class ClaimIn(BaseModel):
    """A claim in the fields of the curated files; the server compiles it to a nanopublication."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(pattern=SAFE_NAME.pattern, max_length=100, examples=["poems-cause-summary"])
    key: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=100, examples=["poems-not-inherited-restated"])
    subject: str = Field(max_length=200, examples=["MONDO:0017364"])
    subject_label: str | None = Field(None, max_length=500, description="The subject's label in its ontology (checked)")
    predicate: str = Field(max_length=200, examples=["biolink:has_mode_of_inheritance"])
    object: str | None = Field(None, max_length=200, examples=["MONDO:0021152"])
    object_label: str | None = Field(None, max_length=500, description="The object's label in its ontology (checked)")
    value: str | int | None = Field(None, description="A literal instead of an object (document facts)")
    direction: clinical.DirectionName | None = Field(None, description="How the source stands towards the statement "
                                                                       "(default supports)")
    negated: bool | None = Field(None, description="Optional; if given, true exactly for direction disputes")
    certainty: clinical.CertaintyName | None = Field(None, description="For supports and disputes: established "
                                                                       "(default) or consensus; none for the others")
    frequency: str | None = Field(None, max_length=200)
    evidence: str = Field("ECO:0000303", max_length=200)
    quote: str = Field(min_length=1, max_length=5000, description="Exact text of the source")
    occurrence: int = Field(1, ge=1, le=10_000, description="Which occurrence of the quote, when it occurs several times")
    note: str = Field(min_length=1, max_length=5000)


class Written(BaseModel):
    """The claim a write created."""

    iri: str
    key: str
    supersedes: str | None = None


WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON that can be read (malformed, nested too deeply)"},
    401: {"description": "No bearer token, or not a valid one"},
    403: {"description": "Writes are not configured, or the token lacks the write scope"},
    404: {"description": "The claim to supersede does not exist"},
    409: {"description": "The key is taken, or the claim is already superseded"},
    413: {"description": "The body is larger than the limit (setting max_body_bytes)"},
    422: {"description": "The claim is malformed, its quote is not in the source, it violates a shape, or its source "
                         "would contradict itself; the body holds the report and nothing was written"},
}


async def _write(request: Request, body: ClaimIn, agent: Agent, store: KGStore, settings: Settings,
                 supersedes: str | None = None) -> Response:
    ns = _ns(settings)
    fields = body.model_dump(exclude_none=True)
    try:
        iri = await run_in_threadpool(gate.add_claim, store, ns, request.app.state.sources, fields, agent, supersedes,
                                      request.app.state.signer, runner=request.app.state.validator)
    except gate.WriteRejected as exc:
        return JSONResponse({"detail": exc.message, "report": exc.report}, status_code=exc.status)
    touched = await run_in_threadpool(writes.touched_by_claims, store, ns, [iri, *([supersedes] if supersedes else [])])
    await writes.after_write(request, touched)
    written = Written(iri=iri, key=body.key, supersedes=supersedes)
    return JSONResponse(written.model_dump(exclude_none=True), status_code=201,
                        headers={"Location": "/" + iri.removeprefix(ns.base)})


@router.post("/claims", status_code=201, response_model=Written, responses=WRITE_ERRORS)
async def create_claim(request: Request, body: ClaimIn, agent: Annotated[Agent, Depends(require("write"))],
                       store: Annotated[KGStore, Depends(get_store)],
                       settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """Add a claim (scope ``write``): checked like a build (fields, quote, SHACL gate, no source contradicting itself).

    Another source's claim in the opposite direction is a disagreement, not an error: the claim is accepted and listed
    at ``/api/v1/disagreements``.
    """
    return await _write(request, body, agent, store, settings)


@router.post("/claims/{name}/supersede", status_code=201, response_model=Written, responses=WRITE_ERRORS)
async def supersede_claim(request: Request, name: Annotated[str, Path(pattern=SAFE_NAME.pattern, max_length=100)],
                          body: ClaimIn, agent: Annotated[Agent, Depends(require("write"))],
                          store: Annotated[KGStore, Depends(get_store)],
                          settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """Correct a claim (``np/<name>``) with a new one that supersedes it; the old one stays retrievable."""
    return await _write(request, body, agent, store, settings, supersedes=_ns(settings).claim + name)
