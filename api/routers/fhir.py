"""FHIR R5 read endpoints (``/fhir``), every resource built with the ``fhir.resources`` models.

CapabilityStatement, the project's CodeSystem, the crosswalk ConceptMap with ``$translate``, and each source document
as a Citation.
"""

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fhir.resources.capabilitystatement import CapabilityStatement
from fhir.resources.citation import Citation
from fhir.resources.codesystem import CodeSystem
from fhir.resources.conceptmap import ConceptMap
from fhir.resources.operationoutcome import OperationOutcome, OperationOutcomeIssue
from fhir.resources.parameters import Parameters
from fhir.resources.resource import Resource

from api import clinical
from api.deps import app_settings, get_store
from api.responses import ERRORS
from api.routers.linked_data import SAFE_NAME
from kg import __version__
from kg.named_queries import run_query
from kg.namespaces import CurieError, Namespaces
from kg.settings import Settings
from kg.store import KGStore, select_rows

router = APIRouter(prefix="/fhir", tags=["FHIR R5"])
FHIR_JSON = "application/fhir+json"
CONCEPT_MAP_ID = "poems-kg-crosswalk"
CODE_SYSTEM_ID = "poems-kg"
# SKOS match predicate (entity -> code) as a FHIR R5 ConceptMap relationship, read from the entity's side and from the
# code's side.
RELATIONSHIP = {
    "skos:exactMatch": ("equivalent", "equivalent"),
    "skos:closeMatch": ("related-to", "related-to"),
    "skos:relatedMatch": ("related-to", "related-to"),
    "skos:broadMatch": ("source-is-narrower-than-target", "source-is-broader-than-target"),
    "skos:narrowMatch": ("source-is-broader-than-target", "source-is-narrower-than-target"),
}


# An HTTP error status as the FHIR issue type of its OperationOutcome (http://hl7.org/fhir/issue-type).
ISSUE_TYPES = {400: "invalid", 404: "not-found", 405: "not-supported", 406: "not-supported", 413: "too-long",
               422: "invalid", 502: "transient", 503: "transient", 504: "timeout", 507: "no-store"}


def outcomes(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error statuses as the OpenAPI document lists them for FHIR operations: each an ``OperationOutcome``."""
    return {s: {"description": ERRORS[s], "content": {FHIR_JSON: {}}} for s in statuses}


def _fhir(resource: Resource, status: int = 200) -> Response:
    return Response(resource.model_dump_json(exclude_none=True), status_code=status, media_type=FHIR_JSON)


def operation_outcome(status: int, message: str, where: list[str | None] | None = None,
                      headers: Mapping[str, str] | None = None) -> Response:
    """An error of a FHIR request as a FHIR client reads one: an ``OperationOutcome`` with the issue's type."""
    issue = OperationOutcomeIssue(severity="error" if status < 500 else "fatal", code=ISSUE_TYPES.get(status, "exception"),
                                  diagnostics=message, expression=list(where) if where else None)
    response = _fhir(OperationOutcome(issue=[issue]), status)
    response.headers.update(headers or {})
    return response


def _ns(settings: Settings) -> Namespaces:
    return Namespaces(settings.base_iri)


@router.get("/metadata", response_class=Response, responses={200: {"content": {FHIR_JSON: {}}}})
def metadata(request: Request) -> Response:
    """The CapabilityStatement: what this read-only FHIR R5 server offers."""
    return _fhir(CapabilityStatement.model_validate({
        "resourceType": "CapabilityStatement", "status": "active", "kind": "instance", "fhirVersion": "5.0.0",
        "date": request.app.state.loaded_at.isoformat(), "format": ["json"], "publisher": "poems-kg",
        "software": {"name": "poems-kg", "version": __version__},
        "implementation": {"description": "poems-kg FHIR endpoint", "url": str(request.base_url) + "fhir"},
        "rest": [{"mode": "server", "resource": [
            {"type": "CodeSystem", "interaction": [{"code": "read"}]},
            {"type": "ConceptMap", "interaction": [{"code": "read"}],
             "operation": [{"name": "translate", "definition": "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate"}]},
            {"type": "Citation", "interaction": [{"code": "read"}]},
        ]}],
    }))


@router.get(f"/CodeSystem/{CODE_SYSTEM_ID}", response_class=Response, responses={200: {"content": {FHIR_JSON: {}}}})
def code_system(store: Annotated[KGStore, Depends(get_store)], settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """The terms poems-kg mints (``poems:``), as a complete CodeSystem whose URL is the ontology IRI."""
    ns = _ns(settings)
    concepts = [{"code": ns.compact(r["term"]).removeprefix("poems:"), "display": r["label"],
                 **({"definition": r["definition"]} if r.get("definition") else {})}
                for r in select_rows(run_query(store, ns, "ontology-terms")) if r["term"].startswith(ns.entity)]
    return _fhir(CodeSystem.model_validate({
        "resourceType": "CodeSystem", "id": CODE_SYSTEM_ID, "url": ns.ontology, "version": __version__, "name": "PoemsKg",
        "title": "poems-kg terms", "status": "active", "content": "complete", "caseSensitive": True,
        "count": len(concepts), "concept": concepts,
    }))


def _concept_map(store: KGStore, ns: Namespaces) -> ConceptMap:
    groups: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in select_rows(run_query(store, ns, "crosswalk")):
        elements = groups.setdefault((r["entitySystem"], r["targetSystem"]), {})
        element = elements.setdefault(r["entityCode"], {"code": r["entityCode"], "display": r.get("label"), "target": []})
        target = {"code": r["targetCode"], "display": r.get("targetLabel"),
                  "relationship": RELATIONSHIP[ns.compact(r["predicate"])][0],
                  "comment": f"{r.get('comment') or 'Checked'} (source: {r['source']})"}
        element["target"].append({k: v for k, v in target.items() if v})
    return ConceptMap.model_validate({
        "resourceType": "ConceptMap", "id": CONCEPT_MAP_ID, "url": f"{ns.base}fhir/ConceptMap/{CONCEPT_MAP_ID}",
        "version": __version__, "name": "PoemsKgCrosswalk", "title": "poems-kg terminology crosswalk", "status": "active",
        "description": "Codes clinical systems hold for the entities poems-kg's claims use; each mapping names the "
                       "source it was checked in.",
        "group": [{"source": s, "target": t, "element": [{k: v for k, v in e.items() if v} for e in els.values()]}
                  for (s, t), els in groups.items()],
    })


@router.get(f"/ConceptMap/{CONCEPT_MAP_ID}", response_class=Response, responses={200: {"content": {FHIR_JSON: {}}}})
def concept_map(store: Annotated[KGStore, Depends(get_store)], settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """The terminology crosswalk as a ConceptMap, one group per pair of code systems."""
    return _fhir(_concept_map(store, _ns(settings)))


def _translate(store: KGStore, ns: Namespaces, system: str, code: str, target_system: str | None) -> Parameters:
    """Every code of the entity ``(system, code)`` stands for, with the relationship read from ``code``'s side."""
    try:
        curie = ns.from_coding(system, code)
    except CurieError as exc:
        raise HTTPException(422, str(exc)) from None
    iri = ns.expand(curie)
    canonical = f"{ns.base}fhir/ConceptMap/{CONCEPT_MAP_ID}"
    found: list[tuple[str, clinical.Coding]] = []
    try:  # the code is an entity's own: its mapped codes, read from the entity's side
        own = clinical.entity(store, ns, iri)
        found += [(RELATIONSHIP[c.relationship][0], c) for c in own.codings]
    except clinical.UnknownEntityError:  # the code is a mapped one: the entities it is mapped from, from the code's side
        for match in clinical.lookup(store, ns, iri):
            e = clinical.entity(store, ns, match.entity.iri)
            found.append((RELATIONSHIP[match.relationship][1], e.coding))
    found = [(rel, c) for rel, c in found if target_system in (None, c.system)]
    matches = [{"name": "match", "part": [
        {"name": "relationship", "valueCode": rel},
        {"name": "concept", "valueCoding": {k: v for k, v in {"system": c.system, "code": c.code, "display": c.display}.items() if v}},
        {"name": "originMap", "valueCanonical": canonical}]} for rel, c in found]
    message = f"{len(found)} match(es) for {code} of {system}" if found else f"no mapping for {code} of {system}"
    return Parameters.model_validate({"resourceType": "Parameters", "parameter": [
        {"name": "result", "valueBoolean": bool(found)}, {"name": "message", "valueString": message}, *matches]})


@router.get("/ConceptMap/$translate", response_class=Response, responses={200: {"content": {FHIR_JSON: {}}}, **outcomes(400, 422)})
@router.get(f"/ConceptMap/{CONCEPT_MAP_ID}/$translate", response_class=Response, include_in_schema=False)
def translate(store: Annotated[KGStore, Depends(get_store)], settings: Annotated[Settings, Depends(app_settings)],
              system: Annotated[str, Query(description="Code system of the code to translate", max_length=200)],
              source_code: Annotated[str | None, Query(alias="sourceCode", max_length=100)] = None,
              target_code: Annotated[str | None, Query(alias="targetCode", max_length=100)] = None,
              target_system: Annotated[str | None, Query(alias="targetSystem", max_length=200)] = None) -> Response:
    """``$translate`` (R5): ``sourceCode`` + ``system`` to the codes it maps to, or ``targetCode`` + ``system`` back.

    The crosswalk is read both ways: ICD-10-CM D47.2 translates to MONDO:0017364 (D47.2 is the broader concept) and
    MONDO:0017364 back to D47.2 (POEMS syndrome is the narrower one).
    """
    code = source_code or target_code
    if not code or (source_code and target_code):
        raise HTTPException(400, "give exactly one of sourceCode or targetCode, with system")
    return _fhir(_translate(store, _ns(settings), system, code, target_system))


@router.get("/Citation/{source_id}", response_class=Response, responses={200: {"content": {FHIR_JSON: {}}}, **outcomes(404, 422)})
def citation(source_id: str, store: Annotated[KGStore, Depends(get_store)],
             settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """A source document as a Citation: title, publisher, last modification and the review status it states."""
    ns = _ns(settings)
    rows = select_rows(run_query(store, ns, "source-citation", SOURCE=ns.source + source_id)) if SAFE_NAME.match(source_id) else []
    if not rows:
        raise HTTPException(404, f"no source document '{source_id}' in poems-kg")
    r = rows[0]
    kinds = [k for k in r.get("types", "").split("|") if k]
    return _fhir(Citation.model_validate({
        "resourceType": "Citation", "id": source_id, "url": ns.source + source_id, "status": "active",
        "title": r["title"], "publisher": r["publisher"], "date": r["modified"], "copyright": r.get("rights"),
        "citedArtifact": {
            "title": [{"text": r["title"]}],
            "version": {"value": r["version"]} if r.get("version") else None,
            "currentState": [{"text": r["reviewStatus"]}] if r.get("reviewStatus") else None,
            "classification": [{"classifier": [{"text": k} for k in kinds]}] if kinds else None,
            "webLocation": [{"url": ns.source + source_id}],
            "note": [{"text": f"Last modified {r['modified']}; review status: {r['reviewStatus']}" if r.get("reviewStatus")
                      else f"Release {r.get('version')}; licence: {r.get('license')}"}],
        },
    }))
