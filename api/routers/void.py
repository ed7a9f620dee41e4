"""The dataset itself: its VoID description (``/void``) and gzip-compressed dumps (``/dumps/``)."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from pyoxigraph import RdfFormat
from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, XSD

from api.deps import app_settings, get_store
from api.dumps import DUMP_FORMATS, KGX_DUMPS, dumps
from api.negotiation import GRAPH_TYPES, NotAcceptableError, charset, negotiate
from api.responses import documents, errors
from api.routers.linked_data import templates
from kg.compile import LICENSE, prefixes_for
from kg.namespaces import Namespaces
from kg.settings import Settings
from kg.store import KGStore

router = APIRouter(tags=["dataset"])
VOID = Namespace("http://rdfs.org/ns/void#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
PAV = Namespace("http://purl.org/pav/")
KGX_SPECIFICATION = "https://github.com/biolink/kgx/blob/master/specification/kgx-format.md"
NAMESPACE_TITLES = {"http://purl.obolibrary.org/obo/MONDO_": "MONDO", "http://purl.obolibrary.org/obo/HP_": "HPO",
                    "http://identifiers.org/hgnc/": "HGNC", "http://purl.obolibrary.org/obo/GO_": "GO",
                    "http://purl.obolibrary.org/obo/CL_": "CL"}


def void_graph(request: Request, store: KGStore, ns: Namespaces) -> Graph:
    """The VoID description: size, vocabularies, linksets, endpoint, dumps with size and sha256, license, date."""
    g = Graph()
    for prefix, iri in prefixes_for(ns).items():
        g.bind(prefix, iri, override=True, replace=True)
    dataset = URIRef(ns.base + "void#dataset")
    published = dumps(request, store)
    stats = published.stats
    g.add((dataset, RDF.type, VOID.Dataset))
    g.add((dataset, DCTERMS.title, Literal("poems-kg: curated claims about the cause of POEMS syndrome", lang="en")))
    g.add((dataset, DCTERMS.license, URIRef(LICENSE)))
    g.add((dataset, DCTERMS.modified, Literal(request.app.state.loaded_at.date().isoformat(), datatype=XSD.date)))
    g.add((dataset, VOID.uriSpace, Literal(ns.base)))
    g.add((dataset, VOID.sparqlEndpoint, URIRef(ns.base + "sparql")))
    g.add((dataset, VOID.triples, Literal(published.quads)))
    for key, prop in (("entities", VOID.entities), ("classes", VOID.classes), ("properties", VOID.properties)):
        g.add((dataset, prop, Literal(int(stats[key]))))
    g.add((dataset, VOID.documents, Literal(int(stats["claims"]))))
    for vocabulary in ("https://w3id.org/biolink/vocab/", "http://www.nanopub.org/nschema#", "http://www.w3.org/ns/oa#",
                       "http://www.w3.org/ns/prov#"):
        g.add((dataset, VOID.vocabulary, URIRef(vocabulary)))
    for dump in published.files.values():
        url = URIRef(ns.base + "dumps/" + dump.name)
        checksum = BNode()
        g.add((dataset, VOID.dataDump, url))
        g.add((url, DCAT.mediaType, Literal(dump.media_type)))
        if dump.name in KGX_DUMPS:
            g.add((url, DCTERMS.conformsTo, URIRef(KGX_SPECIFICATION)))
        g.add((url, DCAT.compressFormat, Literal("application/gzip")))
        g.add((url, DCAT.byteSize, Literal(dump.size)))
        g.add((url, SPDX.checksum, checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((checksum, SPDX.checksumValue, Literal(dump.sha256, datatype=XSD.hexBinary)))
    for row in published.tables:  # claims from a table keep its licence and credit: a subset that says so
        subset = URIRef(f"{ns.base}void#{row['source'].rsplit('/', 1)[1]}")
        g.add((dataset, VOID.subset, subset))
        g.add((subset, RDF.type, VOID.Dataset))
        g.add((subset, DCTERMS.title, Literal(f"Claims from {row['title']}", lang="en")))
        g.add((subset, DCTERMS.source, URIRef(row["source"])))
        g.add((subset, DCTERMS.license, URIRef(row["license"])))
        g.add((subset, DCTERMS.rights, Literal(row["rights"], lang="en")))
        g.add((subset, PAV.version, Literal(row["version"])))
        g.add((subset, VOID.documents, Literal(int(row["claims"]))))
    for row in published.linksets:
        linkset, target = BNode(), BNode()
        g.add((dataset, VOID.subset, linkset))
        g.add((linkset, RDF.type, VOID.Linkset))
        g.add((linkset, VOID.subjectsTarget, dataset))
        g.add((linkset, VOID.objectsTarget, target))
        g.add((linkset, VOID.linkPredicate, URIRef(row["predicate"])))
        g.add((linkset, VOID.triples, Literal(int(row["links"]))))
        g.add((target, RDF.type, VOID.Dataset))
        g.add((target, DCTERMS.title, Literal(NAMESPACE_TITLES[row["space"]])))
        g.add((target, VOID.uriSpace, Literal(row["space"])))
    return g


RDFLIB_NAMES = {RdfFormat.TURTLE: "turtle", RdfFormat.TRIG: "trig", RdfFormat.N_TRIPLES: "nt",
                RdfFormat.N_QUADS: "nquads", RdfFormat.JSON_LD: "json-ld", RdfFormat.RDF_XML: "xml"}


@router.get("/void", summary="VoID description of the dataset", responses={**documents(GRAPH_TYPES), **errors(406)})
def void(request: Request, store: Annotated[KGStore, Depends(get_store)],
         settings: Annotated[Settings, Depends(app_settings)]) -> Response:
    """Turtle by default; any RDF format by ``Accept``."""
    try:
        choice = negotiate(request.headers.get("accept"), dict(GRAPH_TYPES), "text/turtle")
    except NotAcceptableError as exc:
        raise HTTPException(406, str(exc)) from None
    assert isinstance(choice.format, RdfFormat)
    body = void_graph(request, store, Namespaces(settings.base_iri)).serialize(format=RDFLIB_NAMES[choice.format])
    return Response(body, media_type=charset(choice.media_type), headers={"Vary": "Accept"})


@router.get("/dumps/", summary="The list of dumps", response_class=HTMLResponse)
def dump_list(request: Request, store: Annotated[KGStore, Depends(get_store)]) -> HTMLResponse:
    """Links to every dump with its size and sha256."""
    return templates.TemplateResponse(request, "dumps.html", {"dumps": list(dumps(request, store).files.values())})


@router.get("/dumps/{name}", summary="One gzip-compressed dump of the whole dataset",
            responses={**documents(["application/gzip"], "The dump, gzip-compressed; its format is in its name"), **errors(404)})
def dump_file(name: str, request: Request, store: Annotated[KGStore, Depends(get_store)]) -> FileResponse:
    """``dataset.trig.gz``, ``dataset.nq.gz`` or ``dataset.jsonld.gz``; ``kgx-nodes.jsonl.gz``, ``kgx-edges.jsonl.gz``."""
    dump = dumps(request, store).files.get(name)
    if dump is None:
        raise HTTPException(404, f"no dump named '{name}'; available: {', '.join([*DUMP_FORMATS, *KGX_DUMPS])}")
    return FileResponse(dump.path, media_type="application/gzip", filename=name)
