"""JSON API for applications (``/api/v1``): entities by CURIE or clinical code, their claims, etiology summaries."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from api import clinical
from api.deps import app_settings, get_store
from kg.namespaces import CurieError, Namespaces
from kg.settings import Settings
from kg.store import KGStore

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
                  settings: Annotated[Settings, Depends(app_settings)],
                  predicate: Annotated[str | None, Query(description="Only claims with this predicate (CURIE)",
                                                         examples=["biolink:has_mode_of_inheritance"], max_length=200)] = None,
                  negated: Annotated[bool | None, Query(description="Only denied (true) or only affirmed (false) claims")] = None,
                  certainty: Annotated[Literal["established", "consensus", "hypothesis", "no_evidence"] | None, Query()] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> clinical.ClaimPage:
    """The claims about an entity, each with its quote, source and claim IRI; filtered, then paged."""
    ns = _ns(settings)
    iri = _resolve(store, ns, curie)
    predicate_iri = None
    if predicate is not None:
        try:
            predicate_iri = ns.expand(predicate)
        except CurieError as exc:
            raise HTTPException(422, f"predicate: {exc}") from None
    found = [c for c in clinical.claims(store, ns, [iri])
             if (predicate_iri is None or c.predicate.iri == predicate_iri)
             and (negated is None or c.negated == negated) and (certainty is None or c.certainty == certainty)]
    return clinical.ClaimPage(total=len(found), offset=offset, limit=limit, items=found[offset:offset + limit])


@router.get("/conditions/{curie}/etiology", response_model=clinical.Etiology, responses=ERRORS)
def etiology(curie: CurieParam, store: Annotated[KGStore, Depends(get_store)],
             settings: Annotated[Settings, Depends(app_settings)]) -> clinical.Etiology:
    """What the sources say about the cause of a condition, in one call.

    Mechanism, inheritance, etiology status, risk factors, hypotheses under study and what there is no evidence for.
    Negated and hedged claims stay negated and hedged.
    """
    ns = _ns(settings)
    return clinical.etiology(store, ns, _resolve(store, ns, curie))
