"""Linked data: every minted IRI dereferences, as RDF by content negotiation or as an HTML page.

Cool URIs: an entity IRI (``id/...``, and ``entity/<CURIE>`` for external terms) names a thing, not a document, so it
answers ``303 See Other`` to the document in the negotiated format (``id/x.ttl``, ``id/x.html``, ...). Claims
(``np/...``) and sources (``source/...``) are documents: they answer ``200`` in the negotiated format directly.
``?format=`` overrides ``Accept``; every answer has ``Vary: Accept``, an ``ETag`` and ``Last-Modified``.
"""

import hashlib
import json
import re
from bisect import bisect_left
from dataclasses import dataclass
from email.utils import format_datetime
from itertools import groupby, pairwise
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pyoxigraph import NamedNode, Quad, RdfFormat, Triple, serialize

from api import clinical
from api.deps import app_settings, get_store
from api.jsonld import compact, context
from api.negotiation import FORMAT_ALIASES, NotAcceptableError, charset, negotiate
from kg.compile import prefixes_for
from kg.direction import CERTAINTIES, by_iri, certainty_keyword
from kg.named_queries import run_construct, run_query, stored_claim_quads
from kg.namespaces import BIOLINK, DCTERMS, HYDRA, NP, OA, PROV, RDF, RDFS, SKOS, CurieError, Namespaces
from kg.settings import Settings
from kg.store import KGStore, select_rows

router = APIRouter(tags=["linked data"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
templates.env.filters["local_name"] = lambda iri: str(iri).rsplit("#", 1)[-1].rsplit("/", 1)[-1]  # rdf:type -> "type"
templates.env.globals["certainty_words"] = CERTAINTIES
SAFE_NAME = re.compile(r"^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$")  # what minted names and hashes look like
SAFE_CURIE = re.compile(r"^[A-Za-z][A-Za-z0-9]*:[A-Za-z0-9_.-]+$")
TRIPLE_TYPES: dict[str, RdfFormat | None] = {
    "text/html": None, "text/turtle": RdfFormat.TURTLE, "application/ld+json": RdfFormat.JSON_LD,
    "application/n-triples": RdfFormat.N_TRIPLES, "application/rdf+xml": RdfFormat.RDF_XML,
}
QUAD_TYPES: dict[str, RdfFormat | None] = {**TRIPLE_TYPES, "application/trig": RdfFormat.TRIG,
                                           "application/n-quads": RdfFormat.N_QUADS}
EXTENSIONS = {"html": "text/html", "ttl": "text/turtle", "jsonld": "application/ld+json", "nt": "application/n-triples",
              "rdf": "application/rdf+xml", "trig": "application/trig", "nq": "application/n-quads"}
MEDIA_EXTENSIONS = {media: ext for ext, media in EXTENSIONS.items()}
OLS_ONTOLOGIES = ("MONDO", "HP", "GO", "CL", "ECO", "RO", "ECTO", "SEPIO")


@dataclass(frozen=True)
class Document:
    """What one request asks for: the IRI it names and, when the path has an extension, a format."""

    iri: str
    media_type: str | None


def _not_found(what: str) -> HTTPException:
    return HTTPException(404, f"{what} is not in poems-kg; the SPARQL endpoint at /sparql lists what is")


def _split(name: str, allowed: dict[str, RdfFormat | None]) -> tuple[str, str | None]:
    stem, dot, ext = name.rpartition(".")
    if dot and ext in EXTENSIONS and EXTENSIONS[ext] in allowed:
        return stem, EXTENSIONS[ext]
    return name, None


def _resolve(name: str, allowed: dict[str, RdfFormat | None], namespace: str, what: str) -> tuple[str, str, str | None]:
    """A path segment as ``(IRI, name, format fixed by its extension)``; 404 for names no minted IRI has."""
    stem, fixed = _split(name, allowed)
    if not SAFE_NAME.match(stem):
        raise _not_found(f"the {what} '{stem}'")
    return namespace + stem, stem, fixed


def _choose(request: Request, offered: dict[str, RdfFormat | None], fixed: str | None) -> str:
    if fixed:
        return fixed
    fmt = request.query_params.get("format")
    accept = FORMAT_ALIASES.get(fmt, fmt) if fmt else request.headers.get("accept")
    try:
        return negotiate(accept, dict(offered), "text/html").media_type
    except NotAcceptableError as exc:
        raise HTTPException(406, str(exc)) from None


def _respond(request: Request, body: bytes, media_type: str) -> Response:
    """A cacheable answer: ETag from the body, Last-Modified from when the store was loaded."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Vary": "Accept", "Last-Modified": format_datetime(request.app.state.loaded_at, usegmt=True)}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=charset(media_type), headers=headers)


def browse_links(curie: str) -> dict[str, str]:
    """Where people browse a standard term: the EBI Ontology Lookup Service for OBO terms, Monarch for its own kinds."""
    prefix = curie.split(":", 1)[0]
    links = {}
    if prefix in OLS_ONTOLOGIES:
        links["OLS"] = f"https://www.ebi.ac.uk/ols4/ontologies/{prefix.lower()}/classes?obo_id={curie}"
    if prefix in ("MONDO", "HP", "HGNC"):
        links["Monarch"] = f"https://monarchinitiative.org/{curie}"
    return links


def page_path(iri: str, ns: Namespaces) -> str:
    """The path of the page for an IRI: the IRI itself when minted here, ``/entity/<CURIE>`` for external terms."""
    if iri.startswith(ns.base):
        return "/" + iri[len(ns.base):]
    compact = ns.compact(iri)
    return f"/entity/{compact}" if compact != iri else iri


Statement = TypeVar("Statement", Quad, Triple)


def _serialize(statements: list[Statement], media_type: str, formats: dict[str, RdfFormat | None],
               ns: Namespaces) -> bytes:
    """Serialize in a stable order, so that an unchanged description keeps its ETag."""
    fmt = formats[media_type]
    assert fmt is not None
    prefixes = None
    if fmt in (RdfFormat.TURTLE, RdfFormat.TRIG):  # the project's prefixes that the statements use
        text = " ".join(map(str, statements))
        prefixes = {p: iri for p, iri in prefixes_for(ns).items() if f"<{iri}" in text}
    body = serialize(sorted(statements, key=str), format=fmt, prefixes=prefixes) or b""
    return compact(body, ns) if fmt == RdfFormat.JSON_LD else body


def _entity(request: Request, store: KGStore, settings: Settings, iri: str, name: str, fixed: str | None) -> Response:
    ns = Namespaces(settings.base_iri)
    unknown = _not_found(f"the entity <{iri}>")
    if fixed is None:  # the IRI names a thing: send the client to the document about it
        if not bool(run_query(store, ns, "entity-exists", ENTITY=iri)):
            raise unknown
        media_type = _choose(request, TRIPLE_TYPES, fixed)
        return RedirectResponse(f"{request.url.path}.{MEDIA_EXTENSIONS[media_type]}", status_code=303,
                                headers={"Vary": "Accept"})
    if fixed != "text/html":
        triples = run_construct(store, ns, "describe-entity", ENTITY=iri)
        if not triples:
            raise unknown
        return _respond(request, _serialize(triples, fixed, TRIPLE_TYPES, ns), fixed)
    claims = select_rows(run_query(store, ns, "entity-claims", ENTITY=iri))
    facts = select_rows(run_query(store, ns, "entity-facts", ENTITY=iri))
    if not claims and not facts:
        raise unknown
    media_type = fixed
    label = next((f["value"] for f in facts if f["predicate"] == RDFS + "label"), name)
    minted = iri.startswith(ns.base)  # its dcterms:source says why it was minted; a standard term's, where it was read
    described = {SKOS + "definition": "definition", SKOS + "altLabel": "synonyms",
                 DCTERMS + "source": "minted_because" if minted else "read_from"}
    about = {key: [f["value"] for f in facts if f["predicate"] == p] for p, key in described.items()}
    facts = [f for f in facts if f["predicate"] not in described and f["predicate"] != RDFS + "label"]
    rows = [_readable(row, ns) for row in claims]
    def source_of(r: dict[str, Any]) -> str:
        return str(r.get("sourceTitle", r["source"]))

    def predicate_of(r: dict[str, Any]) -> str:
        return str(r.get("predicateLabel", r["predicate"]))

    rows.sort(key=lambda r: (source_of(r), predicate_of(r)))  # stable: the query's order within a group stays
    groups = [(source, [(predicate, list(claims)) for predicate, claims in groupby(group, key=predicate_of)])
              for source, group in groupby(rows, key=source_of)]
    disagreements = clinical.disagreements(store, ns, [iri])
    html = templates.get_template("entity.html").render(
        request=request, iri=iri, label=label, curie=ns.compact(iri), facts=facts, groups=groups, about=about,
        browse=browse_links(ns.compact(iri)), disagreements=disagreements, page=lambda i: page_path(i, ns),
        paths={f["value"]: page_path(f["value"], ns) for f in facts})
    return _respond(request, html.encode(), media_type)


@router.get("/id/{name}", summary="An entity minted by poems-kg (303 to its description)")
def entity(name: str, request: Request, store: Annotated[KGStore, Depends(get_store)],
           settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """Dereference ``<base>id/<name>``: 303 to ``id/<name>.<ext>`` by ``Accept``; the document itself with an extension."""
    iri, stem, fixed = _resolve(name, TRIPLE_TYPES, Namespaces(settings.base_iri).entity, "name")
    return _entity(request, store, settings, iri, stem, fixed)


@router.get("/entity/{curie}", summary="An external term (MONDO, HPO, HGNC, ...) as poems-kg knows it")
def external_entity(curie: str, request: Request, store: Annotated[KGStore, Depends(get_store)],
                    settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """``/entity/MONDO:0017364``: what poems-kg says about a term whose own IRI lives elsewhere."""
    stem, fixed = _split(curie, TRIPLE_TYPES)
    ns = Namespaces(settings.base_iri)
    if not SAFE_CURIE.match(stem):
        raise _not_found(f"the identifier '{stem}'")
    try:
        iri = ns.expand(stem)
    except CurieError as exc:
        raise HTTPException(404, str(exc)) from None
    return _entity(request, store, settings, iri, stem, fixed)


@router.get("/np/{name}", summary="A claim: its whole nanopublication")
def claim(name: str, request: Request, store: Annotated[KGStore, Depends(get_store)],
          settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """The nanopublication's four graphs (TriG, N-Quads, JSON-LD; flattened in triple formats) or its page."""
    ns = Namespaces(settings.base_iri)
    iri, _, fixed = _resolve(name, QUAD_TYPES, ns.claim, "claim")
    quads = stored_claim_quads(store, ns, iri)
    if not quads:
        raise _not_found(f"the claim <{iri}>")
    media_type = _choose(request, QUAD_TYPES, fixed)
    if media_type != "text/html":
        statements = quads if QUAD_TYPES[media_type] in (RdfFormat.TRIG, RdfFormat.N_QUADS, RdfFormat.JSON_LD) else \
            [Quad(q.subject, q.predicate, q.object) for q in quads]
        return _respond(request, _serialize(statements, media_type, QUAD_TYPES, ns), media_type)
    graphs = [(part, [q for q in quads if q.graph_name == NamedNode(f"{iri}#{part}")])
              for part in ("head", "assertion", "provenance", "pubinfo")]
    row = _claim_summary(store, ns, iri, quads)
    html = templates.get_template("claim.html").render(request=request, iri=iri, graphs=graphs, claim=row)
    return _respond(request, html.encode(), media_type)


def _claim_summary(store: KGStore, ns: Namespaces, iri: str, quads: list[Quad]) -> dict[str, Any]:
    """The claim as a person reads it: subject, predicate, object, direction, certainty, quote and source."""
    subject = next(q.object for q in quads if q.predicate.value == BIOLINK + "subject")
    assert isinstance(subject, NamedNode)
    rows = select_rows(run_query(store, ns, "entity-claims", ENTITY=subject.value))
    return _readable(next(r for r in rows if r["claim"] == iri), ns)


def _readable(row: dict[str, str], ns: Namespaces) -> dict[str, Any]:
    """A claim row with what its page shows: the direction (its words and style) and the page of each IRI."""
    out: dict[str, Any] = dict(row, direction=by_iri(row["direction"], ns), certainty=certainty_keyword(row.get("certainty")))
    for end in ("subject", "object", "predicate", "claim", "source", "frequency"):
        if end in row:
            out[end + "Path"] = page_path(row[end], ns)
    return out


@router.get("/source/{name}", summary="A source document: metadata, text and the claims quoting it, a page at a time")
def source(name: str, request: Request, store: Annotated[KGStore, Depends(get_store)],
           settings: Annotated[Settings, Depends(app_settings)],
           page: Annotated[int, Query(ge=1, description="which page of the claims quoting the source")] = 1) -> Response:
    """The source's metadata and text with the claims quoting it, ``page_size`` claims a page (Hydra links between pages)."""
    ns = Namespaces(settings.base_iri)
    iri, _, fixed = _resolve(name, TRIPLE_TYPES, ns.source, "source")
    described = run_construct(store, ns, "describe-source", SOURCE=iri)
    if not described:
        raise _not_found(f"the source <{iri}>")
    total = int(select_rows(run_query(store, ns, "source-claim-count", SOURCE=iri))[0]["claims"])
    last = max(1, -(-total // settings.page_size))
    if page > last:
        raise HTTPException(404, f"the source <{iri}> has {last} page(s) of claims ({total} claims, "
                                 f"{settings.page_size} a page); there is no page {page}")
    rows = select_rows(run_query(store, ns, "source-claims", page=(settings.page_size, (page - 1) * settings.page_size),
                                 SOURCE=iri))
    media_type = _choose(request, TRIPLE_TYPES, fixed)
    if media_type != "text/html":
        triples = [*(described if page == 1 else []), *_claim_links(rows, iri), *_pages(iri, page, last)]
        return _respond(request, _serialize(triples, media_type, TRIPLE_TYPES, ns), media_type)
    about = {t.predicate.value.rsplit("/", 1)[-1].rsplit("#", 1)[-1]: t.object.value for t in described
             if t.subject == NamedNode(iri) and not isinstance(t.object, Triple)}
    spans = [dict(r, direction=by_iri(r["direction"], ns).keyword) for r in rows]
    table_rows = [dict(r, path=page_path(r["claim"], ns)) for r in spans if r.get("line")]
    html = templates.get_template("source.html").render(
        request=request, iri=iri, about=about, segments=_segments(about.get("text", ""), spans, ns), page=page,
        last=last, total=total, rows=table_rows)
    return _respond(request, html.encode(), media_type)


def _claim_links(rows: list[dict[str, str]], source: str) -> list[Triple]:
    """How each claim of a page reaches the source: claim -> assertion -> quote target -> source."""
    out = []
    for r in rows:
        claim, assertion, target = NamedNode(r["claim"]), NamedNode(r["g"]), NamedNode(r["target"])
        out += [Triple(claim, NamedNode(NP + "hasAssertion"), assertion),
                Triple(assertion, NamedNode(PROV + "wasDerivedFrom"), target),
                Triple(target, NamedNode(OA + "hasSource"), NamedNode(source))]
    return out


def _pages(source: str, page: int, last: int) -> list[Triple]:
    """Hydra links from this page of the source document to the first, previous, next and last pages."""
    if last == 1:
        return []
    view = NamedNode(f"{source}?page={page}")
    links = {"first": 1, "last": last, **({"previous": page - 1} if page > 1 else {}), **({"next": page + 1} if page < last else {})}
    return [Triple(view, NamedNode(RDF + "type"), NamedNode(HYDRA + "PartialCollectionView")),
            *(Triple(view, NamedNode(HYDRA + rel), NamedNode(f"{source}?page={n}")) for rel, n in links.items())]


def _segments(text: str, spans: list[dict[str, str]], ns: Namespaces) -> list[tuple[str, list[dict[str, str]]]]:
    """The text cut at every quote boundary; each piece with the claims whose quote covers it (in the spans' order)."""
    cuts = sorted({0, len(text), *(int(s["start"]) for s in spans), *(int(s["end"]) for s in spans)})
    covering: list[list[dict[str, str]]] = [[] for _ in cuts[1:]]
    for s in spans:
        linked = dict(s, path=page_path(s["claim"], ns))
        for i in range(bisect_left(cuts, int(s["start"])), bisect_left(cuts, int(s["end"]))):
            covering[i].append(linked)
    return [(text[a:b], covering[i]) for i, (a, b) in enumerate(pairwise(cuts))]


@router.get("/ontology", summary="The poems-kg ontology")
def ontology(request: Request, store: Annotated[KGStore, Depends(get_store)],
             settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """The ontology graph (RDF formats), or the list of its terms (HTML)."""
    ns = Namespaces(settings.base_iri)
    media_type = _choose(request, TRIPLE_TYPES, None)
    if media_type != "text/html":
        triples = run_construct(store, ns, "ontology-graph")
        return _respond(request, _serialize(triples, media_type, TRIPLE_TYPES, ns), media_type)
    terms = [dict(r, path=page_path(r["term"], ns)) for r in select_rows(run_query(store, ns, "ontology-terms"))]
    return _respond(request, templates.get_template("ontology.html").render(request=request, terms=terms).encode(), media_type)


@router.get("/context.jsonld", summary="The JSON-LD context of poems-kg")
def jsonld_context(settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """The ``@context`` every JSON-LD answer refers to, with short keys (subject, negated, certainty, quote...)."""
    body = json.dumps(context(Namespaces(settings.base_iri)), indent=1).encode()
    return Response(body, media_type="application/ld+json", headers={"Access-Control-Allow-Origin": "*"})


@router.get("/", include_in_schema=False)
def home(request: Request, store: Annotated[KGStore, Depends(get_store)],
         settings: Annotated[Settings, Depends(app_settings)]) -> HTMLResponse:
    """The dataset overview with links to the query page, the entities, the sources and the API docs."""
    ns = Namespaces(settings.base_iri)
    rows = select_rows(run_query(store, ns, "overview"))
    entities = [dict(r, path=page_path(r["entity"], ns)) for r in rows if r.get("entity")]
    sources = [dict(r, path=page_path(r["source"], ns)) for r in rows if r.get("source")]
    return templates.TemplateResponse(request, "home.html", {"entities": entities, "sources": sources})
