"""Linked data: every minted IRI dereferences, as RDF by content negotiation or as an HTML page.

Cool URIs: an entity IRI (``id/...``, and ``entity/<CURIE>`` for external terms) names a thing, not a document, so it
answers ``303 See Other`` to the document in the negotiated format (``id/x.ttl``, ``id/x.html``, ...). Claims
(``np/...``) and sources (``source/...``) are documents: they answer ``200`` in the negotiated format directly.
``?format=`` overrides ``Accept``; every answer has ``Vary: Accept``, an ``ETag`` and ``Last-Modified``.
"""

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import format_datetime
from itertools import pairwise
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Triple, parse, serialize

from api import clinical
from api.cache import AnswerStore, claim_parts
from api.deps import app_settings, get_store
from api.jsonld import compact, context
from api.negotiation import FORMAT_ALIASES, NotAcceptableError, charset, negotiate
from api.responses import documents, errors
from kg.compile import prefixes_for
from kg.direction import CERTAINTIES, DIRECTIONS, by_iri
from kg.named_queries import run_construct, run_query, stored_claim_quads
from kg.namespaces import BIOLINK, DCTERMS, HYDRA, NP, NPX, OA, PROV, RDF, RDFS, SKOS, CurieError, Namespaces
from kg.sentences import parts
from kg.settings import Settings
from kg.store import KGStore, select_rows

router = APIRouter(tags=["linked data"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
templates.env.filters["local_name"] = lambda iri: str(iri).rsplit("#", 1)[-1].rsplit("/", 1)[-1]  # rdf:type -> "type"
templates.env.globals.update(certainty_words=CERTAINTIES, directions=DIRECTIONS, sentence_parts=parts,
                             page=lambda iri, ns: page_path(iri, ns), frequency_rank=lambda claim: frequency_rank(claim))
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
PageParam = Annotated[int, Query(ge=1, le=1_000_000, description="Which page of the claims about the entity, "
                                 "POEMS_KG_PAGE_SIZE a page, in its RDF documents (Hydra links between pages); its "
                                 "HTML page lists them all")]


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
    ordered = sorted(((str(s), s) for s in statements), key=lambda pair: pair[0])  # each text once
    prefixes = None
    if fmt in (RdfFormat.TURTLE, RdfFormat.TRIG):  # the project's prefixes that the statements' IRIs use
        text = " ".join(f"<{iri}" for iri in _iris(statements))  # not the literals: a source's text may be MBs
        prefixes = {p: iri for p, iri in prefixes_for(ns).items() if f"<{iri}" in text}
    body = serialize([s for _, s in ordered], format=fmt, prefixes=prefixes) or b""
    return compact(body, ns) if fmt == RdfFormat.JSON_LD else body


def _iris(statements: Iterable[Quad | Triple]) -> set[str]:
    """Every IRI the statements name: as terms, as literals' datatypes, as graphs, inside quoted triples."""
    found: set[str] = set()
    for statement in statements:
        for term in statement:
            if isinstance(term, NamedNode):
                found.add(term.value)
            elif isinstance(term, Literal):
                found.add(term.datatype.value)
            elif isinstance(term, Triple):
                found |= _iris([term])
    return found


def _entity_page(store: KGStore, settings: Settings, iri: str, page: int, kept: AnswerStore) -> list[Triple]:
    """One page of an entity's RDF description.

    On the first, what the ontology says of it; on each, ``page_size`` of the claims about it (in the order of their
    IRIs), each claim's description kept between answers in ``kept``, and Hydra links between the pages when there are
    several.
    """
    ns = Namespaces(settings.base_iri)
    claims = sorted(r["claim"] for r in select_rows(run_query(store, ns, "claims-about", SUBJECT=iri, OBJECT=iri)))
    facts = run_construct(store, ns, "describe-entity", ENTITY=iri) if page == 1 else []
    if not claims and not facts:
        raise _not_found(f"the entity <{iri}>")
    last = max(1, -(-len(claims) // settings.page_size))
    if page > last:
        raise HTTPException(404, f"the entity <{iri}> has {last} page(s) of claims ({len(claims)} claims, "
                                 f"{settings.page_size} a page); there is no page {page}")
    shown = claims[(page - 1) * settings.page_size:page * settings.page_size]
    return [*facts, *_described(store, ns, shown, kept), *_pages(ns.base + page_path(iri, ns)[1:], page, last)]


def _described(store: KGStore, ns: Namespaces, claims: list[str], kept: AnswerStore) -> set[Triple]:
    """The RDF description of ``claims`` (``describe-claims.rq``), each claim's kept as N-Triples between answers."""
    def describe(missing: list[str]) -> dict[str, bytes]:
        by_claim: dict[str, list[Triple]] = defaultdict(list)
        for row in run_query(store, ns, "describe-claims", CLAIM=missing):  # type: ignore[union-attr]
            by_claim[row["claim"].value].append(Triple(row["s"], row["p"], row["o"]))
        return {claim: serialize(triples, format=RdfFormat.N_TRIPLES) or b"" for claim, triples in by_claim.items()}

    found = claim_parts(kept, "description", claims, describe) if claims else {}
    return {quad.triple for part in found.values() for quad in parse(part, format=RdfFormat.N_TRIPLES)}


def _entity(request: Request, store: KGStore, settings: Settings, iri: str, name: str, fixed: str | None,
            page: int) -> Response:
    ns = Namespaces(settings.base_iri)
    unknown = _not_found(f"the entity <{iri}>")
    if fixed is None:  # the IRI names a thing: send the client to the document about it
        if not bool(run_query(store, ns, "entity-exists", ENTITY=iri)):
            raise unknown
        media_type = _choose(request, TRIPLE_TYPES, fixed)
        query = f"?{request.url.query}" if request.url.query else ""  # a page of the document (Hydra links) stays one
        return RedirectResponse(f"{request.url.path}.{MEDIA_EXTENSIONS[media_type]}{query}", status_code=303,
                                headers={"Vary": "Accept"})
    if fixed != "text/html":
        statements = _entity_page(store, settings, iri, page, request.app.state.parts)
        return _respond(request, _serialize(statements, fixed, TRIPLE_TYPES, ns), fixed)
    if page != 1:
        raise HTTPException(404, f"the HTML page of <{iri}> lists all its claims on one page; there is no page {page}")
    claims = clinical.claims(store, ns, [iri], request.app.state.parts)
    facts = select_rows(run_query(store, ns, "entity-facts", ENTITY=iri))
    if not claims and not facts:
        raise unknown
    label = next((f["value"] for f in facts if f["predicate"] == RDFS + "label"), name)
    minted = iri.startswith(ns.base)  # its dcterms:source says why it was minted; a standard term's, where it was read
    described = {SKOS + "definition": "definition", SKOS + "altLabel": "synonyms",
                 DCTERMS + "source": "minted_because" if minted else "read_from"}
    about = {key: [f["value"] for f in facts if f["predicate"] == p] for p, key in described.items()}
    parents = [f for f in facts if f["predicate"] == RDFS + "subClassOf"]
    facts = [f for f in facts if f["predicate"] not in {*described, RDFS + "label", RDFS + "subClassOf"}]
    try:
        codes = clinical.entity(store, ns, iri).codings
    except clinical.UnknownEntityError:
        codes = []
    html = templates.get_template("entity.html").render(
        request=request, ns=ns, iri=iri, label=label, curie=ns.compact(iri), about=about, codes=codes,
        parents=[f for f in parents if f["inferred"] == "false"], ancestors=parents, facts=facts,
        browse=browse_links(ns.compact(iri)), sections=_sections(claims, iri), headings=SECTIONS,
        disagreements=clinical.disagreements(store, ns, [iri]))
    return _respond(request, html.encode(), fixed)


# The questions an entity page answers, in the order it shows them: the keys of ``clinical.section`` ("what it is"
# split off from the rest of its "other"), each with its heading.
SECTIONS = {"mechanism": "Cause and mechanism", "what_it_is": "What it is", "inheritance": "Inheritance",
            "etiology_status": "Etiology", "risk_factors": "Risk factors", "other": "Associations and consequences",
            "hypotheses": "Hypotheses under investigation", "insufficient_evidence": "Not established",
            "disputed": "Disputed", "features": "Phenotypic features"}
WHAT_IT_IS = {BIOLINK + "subclass_of", BIOLINK + "has_attribute"}
# HPO's frequency terms as the middle of the share of cases each one's definition gives (hp.obo), to sort by.
HPO = "http://purl.obolibrary.org/obo/HP_"
FREQUENCY_TERMS = {HPO + "0040280": 100.0, HPO + "0040281": 89.5, HPO + "0040282": 54.5, HPO + "0040283": 17.0,
                   HPO + "0040284": 2.5, HPO + "0040285": 0.0}


def frequency_rank(claim: clinical.ClaimOut) -> float:
    """How often a feature occurs, in percent, to sort a table by: from its count, percentage or HPO term; -1 unknown."""
    if claim.count is not None and claim.total:
        return 100.0 * claim.count / claim.total
    if claim.percentage is not None:
        return claim.percentage
    return FREQUENCY_TERMS.get(claim.frequency_term.iri, -1.0) if claim.frequency_term else -1.0


def _sections(claims: list[clinical.ClaimOut], iri: str) -> dict[str, list[clinical.ClaimOut]]:
    """The claims about an entity by the question each answers; in each, the text sources' claims before table rows."""
    out: dict[str, list[clinical.ClaimOut]] = {key: [] for key in SECTIONS}
    for claim in claims:
        key = clinical.section(claim, iri)
        out["what_it_is" if key == "other" and claim.predicate.iri in WHAT_IT_IS else key].append(claim)
    for group in out.values():
        group.sort(key=lambda c: (c.line is not None, c.line or 0, c.predicate.label or "", (c.object.label or "").lower()))
    return out


@router.get("/id/{name}", summary="An entity minted by poems-kg (303 to its description)",
            responses={**documents([*TRIPLE_TYPES]), **errors(303, 404, 406)})
def entity(name: str, request: Request, store: Annotated[KGStore, Depends(get_store)],
           settings: Annotated[Settings, Depends(app_settings)], page: PageParam = 1) -> Response:
    """Dereference ``<base>id/<name>``: 303 to ``id/<name>.<ext>`` by ``Accept``; the document itself with an extension."""
    iri, stem, fixed = _resolve(name, TRIPLE_TYPES, Namespaces(settings.base_iri).entity, "name")
    return _entity(request, store, settings, iri, stem, fixed, page)


@router.get("/entity/{curie}", summary="An external term (MONDO, HPO, HGNC, ...) as poems-kg knows it",
            responses={**documents([*TRIPLE_TYPES]), **errors(303, 404, 406)})
def external_entity(curie: str, request: Request, store: Annotated[KGStore, Depends(get_store)],
                    settings: Annotated[Settings, Depends(app_settings)], page: PageParam = 1) -> Response:
    """``/entity/MONDO:0017364``: what poems-kg says about a term whose own IRI lives elsewhere."""
    stem, fixed = _split(curie, TRIPLE_TYPES)
    ns = Namespaces(settings.base_iri)
    if not SAFE_CURIE.match(stem):
        raise _not_found(f"the identifier '{stem}'")
    try:
        iri = ns.expand(stem)
    except CurieError as exc:
        raise HTTPException(404, str(exc)) from None
    return _entity(request, store, settings, iri, stem, fixed, page)


@router.get("/np/{name}", summary="A claim: its whole nanopublication", responses={**documents([*QUAD_TYPES]), **errors(404, 406)})
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
    summary = clinical.details(store, ns, [iri], request.app.state.parts)[0]
    status = select_rows(run_query(store, ns, "claim-status", CLAIM=iri))
    graphs = [(part, _serialize([Triple(q.subject, q.predicate, q.object) for q in quads
                                 if q.graph_name == NamedNode(f"{iri}#{part}")], "text/turtle", TRIPLE_TYPES, ns).decode())
              for part in ("head", "assertion", "provenance", "pubinfo")]
    html = templates.get_template("claim.html").render(
        request=request, ns=ns, iri=iri, c=summary, graphs=graphs, provenance=_provenance(quads),
        newer=[r["newer"] for r in status if r.get("newer")])
    return _respond(request, html.encode(), media_type)


# What a claim's page shows of its provenance and publication info: predicate -> name.
PROVENANCE = {OA + "prefix": "before", OA + "suffix": "after", RDFS + "comment": "note", DCTERMS + "creator": "creator",
              DCTERMS + "created": "created", DCTERMS + "license": "license", NPX + "supersedes": "supersedes",
              NPX + "signedBy": "signed_by"}


def _provenance(quads: list[Quad]) -> dict[str, str]:
    """The values of a nanopublication's provenance and publication info that its page shows, by name."""
    return {PROVENANCE[q.predicate.value]: str(q.object.value) for q in quads  # type: ignore[union-attr]
            if q.predicate.value in PROVENANCE}


@router.get("/source/{name}", summary="A source document: metadata, text and the claims quoting it, a page at a time",
            responses={**documents([*TRIPLE_TYPES]), **errors(404, 406)})
def source(name: str, request: Request, store: Annotated[KGStore, Depends(get_store)],
           settings: Annotated[Settings, Depends(app_settings)],
           page: Annotated[int, Query(ge=1, le=1_000_000, description="which page of the claims quoting the source")] = 1) -> Response:
    """The source's metadata and text with the claims quoting it, ``page_size`` claims a page (Hydra links between pages)."""
    ns = Namespaces(settings.base_iri)
    iri, _, fixed = _resolve(name, TRIPLE_TYPES, ns.source, "source")
    described = run_construct(store, ns, "describe-source", SOURCE=iri)
    if not described:
        raise _not_found(f"the source <{iri}>")
    targets = request.app.state.spans.targets(store, ns, iri)
    total, size = len(targets), settings.page_size
    last = max(1, -(-total // size))
    if page > last:
        raise HTTPException(404, f"the source <{iri}> has {last} page(s) of claims ({total} claims, "
                                 f"{size} a page); there is no page {page}")
    shown = targets[(page - 1) * size:page * size]
    rows = select_rows(run_query(store, ns, "source-claims", TARGET=shown)) if shown else []
    media_type = _choose(request, TRIPLE_TYPES, fixed)
    if media_type != "text/html":
        triples = [*(described if page == 1 else []), *_claim_links(rows, iri), *_pages(iri, page, last)]
        return _respond(request, _serialize(triples, media_type, TRIPLE_TYPES, ns), media_type)
    about = {t.predicate.value.rsplit("/", 1)[-1].rsplit("#", 1)[-1]: t.object.value for t in described
             if t.subject == NamedNode(iri) and not isinstance(t.object, Triple)}
    claims = [dict(r, direction=by_iri(r["direction"], ns).keyword) for r in rows]
    html = templates.get_template("source.html").render(
        request=request, ns=ns, iri=iri, about=about, page_number=page, last=last, total=total, claims=claims,
        paragraphs=_paragraphs(about.get("text", ""), claims, _out_of_scope(described, iri)))
    return _respond(request, html.encode(), media_type)


def _out_of_scope(described: list[Triple], source: str) -> list[tuple[str, str]]:
    """The passages a source's metadata lists as yielding no claim: (quote, reason)."""
    nodes = {str(t.object) for t in described if t.subject == NamedNode(source) and t.predicate.value.endswith("/outOfScope")}
    value = {(str(t.subject), t.predicate.value): str(t.object.value) for t in described  # type: ignore[union-attr]
             if str(t.subject) in nodes}
    return sorted((value[n, OA + "exact"], value.get((n, RDFS + "comment"), "")) for n in nodes)


@dataclass(frozen=True)
class Piece:
    """A stretch of a source's text: where it is, the claims that quote it, and why it is out of scope, if it is."""

    start: int
    end: int
    text: str
    claims: list[dict[str, str]]
    out_of_scope: str | None
    marker: dict[str, int] | None  # at the end of a run of the same claims: how many of each direction quote it


def _paragraphs(text: str, claims: list[dict[str, str]], scopes: list[tuple[str, str]]) -> list[list[Piece]]:
    """The text in its paragraphs (its lines), each cut at every quote and out-of-scope boundary."""
    scoped = [(i, i + len(quote), reason) for quote, reason in scopes if (i := text.find(quote)) >= 0]
    breaks = [m.end() for m in re.finditer(r"\n\s*", text) if m.end() < len(text)]  # a line is a paragraph
    cuts = sorted({0, len(text), *breaks, *(int(c["start"]) for c in claims), *(int(c["end"]) for c in claims),
                   *(a for a, _, _ in scoped), *(b for _, b, _ in scoped)})
    pieces = []
    for a, b in pairwise(cuts):
        covering = [c for c in claims if int(c["start"]) <= a and b <= int(c["end"])]
        reason = next((r for s, e, r in scoped if s <= a and b <= e), None)
        pieces.append(Piece(a, b, text[a:b], covering, reason, None))
    paragraphs: list[list[Piece]] = [[]]
    for i, piece in enumerate(pieces):
        following = pieces[i + 1] if i + 1 < len(pieces) else None
        if piece.claims and (following is None or following.claims != piece.claims or piece.end in breaks):
            counts = {d: sum(c["direction"] == d for c in piece.claims) for d in dict.fromkeys(c["direction"] for c in piece.claims)}
            piece = Piece(piece.start, piece.end, piece.text, piece.claims, piece.out_of_scope, counts)
        paragraphs[-1].append(piece)
        if piece.end in breaks:
            paragraphs.append([])
    return [p for p in paragraphs if p]


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


@router.get("/ontology", summary="The poems-kg ontology", responses={**documents([*TRIPLE_TYPES]), **errors(406)})
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


@router.get("/context.jsonld", summary="The JSON-LD context of poems-kg", responses=documents(["application/ld+json"]))
def jsonld_context(settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """The ``@context`` every JSON-LD answer refers to, with short keys (subject, negated, certainty, quote...)."""
    body = json.dumps(context(Namespaces(settings.base_iri)), indent=1).encode()
    return Response(body, media_type="application/ld+json", headers={"Access-Control-Allow-Origin": "*"})


def _words(name: str) -> str:
    """A Biolink class name in words: ``PhenotypicFeature`` -> ``Phenotypic feature``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).capitalize()


@router.get("/", include_in_schema=False)
def home(request: Request, store: Annotated[KGStore, Depends(get_store)],
         settings: Annotated[Settings, Depends(app_settings)]) -> HTMLResponse:
    """The dataset overview with links to the query page, the entities, the sources and the API docs."""
    ns = Namespaces(settings.base_iri)
    rows = select_rows(run_query(store, ns, "overview"))
    entities = sorted((dict(r, path=page_path(r["entity"], ns), curie=ns.compact(r["entity"]),
                            kind=_words((r.get("kind") or "").removeprefix(BIOLINK)) or "Other")
                      for r in rows if r.get("entity")),
                      key=lambda e: (e.get("label") or e["curie"]).casefold())
    kinds = {kind: [e for e in entities if e["kind"] == kind] for kind in sorted(  # the kinds most claims are about first
        {e["kind"] for e in entities}, key=lambda k: -sum(int(e["claims"]) for e in entities if e["kind"] == k))}
    sources = sorted((dict(r, path=page_path(r["source"], ns)) for r in rows if r.get("source")), key=lambda s: s["title"].casefold())
    return templates.TemplateResponse(request, "home.html", {"kinds": kinds, "sources": sources, "total": len(entities)})
