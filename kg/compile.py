"""Compile curated sources and claims into an RDF dataset: one nanopublication per claim, named by its Trusty URI.

A nanopublication holds what the claim states and where it comes from, nothing else, so that its IRI changes exactly
when its content does: where it was curated (file, line, key) and the tool that compiled it are kept beside it, in
the graph ``<base>graph/curation``.
"""

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, serialize

from kg import __version__
from kg.direction import DIRECTIONS, direction_iri
from kg.model import Claim, CurationError, Row, Source, TableSource
from kg.namespaces import BIOLINK, DCAT, DCTERMS, HYDRA, NP, NPX, OA, OWL, PAV, PROV, RDF, RDFS, SPDX, VOID, XSD, Namespaces
from kg.trusty import PLACEHOLDER, Signer, code, rename

LICENSE = "https://creativecommons.org/licenses/by/4.0/"
QUOTE_CONTEXT = 32  # characters of prefix/suffix kept in a TextQuoteSelector
RFC5147 = "http://tools.ietf.org/rfc/rfc5147"  # fragment identifiers of plain text: "line=9,10" is the 10th line
TOOL = f"poems-kg {__version__}"


def N(iri: str) -> NamedNode:  # noqa: N802 - short constructor used throughout
    """A named node."""
    return NamedNode(iri)


def quad_order(q: Quad) -> tuple[str, str, str, str]:
    """The order quads are written in (graph, subject, predicate, object), so that output is byte-identical."""
    return str(q.graph_name), str(q.subject), str(q.predicate), str(q.object)


def _literal(value: object) -> Literal:
    if isinstance(value, bool):
        return Literal(str(value).lower(), datatype=N(XSD + "boolean"))
    if isinstance(value, int):
        return Literal(str(value), datatype=N(XSD + "integer"))
    text = str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit():
        return Literal(text, datatype=N(XSD + "date"))
    return Literal(text)


def source_quads(source: Source | TableSource, ns: Namespaces) -> Iterator[Quad]:
    """The source document as a ``prov:Entity`` in the sources graph: a text with its text, a table with its release."""
    g = N(ns.graph + "sources")
    s = N(ns.source + source.id)
    yield Quad(s, N(RDF + "type"), N(PROV + "Entity"), g)
    yield Quad(s, N(RDF + "type"), N(ns.entity + "SourceDocument"), g)
    yield from _checksum(s, source.sha256, g)
    if isinstance(source, TableSource):
        yield from _table_quads(s, source, ns, g)
        return
    yield Quad(s, N(DCTERMS + "title"), Literal(source.title, language=source.language), g)
    yield Quad(s, N(RDFS + "label"), Literal(source.title, language=source.language), g)
    yield Quad(s, N(DCTERMS + "publisher"), Literal(source.publisher), g)
    for kind in source.document_types:
        yield Quad(s, N(DCTERMS + "type"), Literal(kind), g)
    yield Quad(s, N(ns.entity + "reviewStatus"), Literal(source.review_status), g)
    yield Quad(s, N(DCTERMS + "modified"), _literal(source.modified.isoformat()), g)
    yield Quad(s, N(DCTERMS + "language"), Literal(source.language), g)
    yield Quad(s, N(ns.entity + "text"), Literal(source.text), g)
    for i, passage in enumerate(source.out_of_scope, start=1):
        node = N(f"{ns.source}{source.id}#out-of-scope-{i}")
        yield Quad(s, N(ns.entity + "outOfScope"), node, g)
        yield Quad(node, N(OA + "exact"), Literal(passage.quote), g)
        yield Quad(node, N(RDFS + "comment"), Literal(passage.reason), g)


def _checksum(s: NamedNode, sha256: str, g: NamedNode) -> Iterator[Quad]:
    checksum = N(str(s.value) + "#sha256")
    yield Quad(s, N(SPDX + "checksum"), checksum, g)
    yield Quad(checksum, N(SPDX + "algorithm"), N(SPDX + "checksumAlgorithm_sha256"), g)
    yield Quad(checksum, N(SPDX + "checksumValue"), Literal(sha256, datatype=N(XSD + "hexBinary")), g)


def _table_quads(s: NamedNode, table: TableSource, ns: Namespaces, g: NamedNode) -> Iterator[Quad]:
    """A table's release, file, licence and the credit its terms of use ask for."""
    yield Quad(s, N(RDF + "type"), N(ns.entity + "SourceTable"), g)
    yield Quad(s, N(DCTERMS + "title"), Literal(table.title, language="en"), g)
    yield Quad(s, N(RDFS + "label"), Literal(table.title, language="en"), g)
    yield Quad(s, N(DCTERMS + "publisher"), Literal(table.publisher), g)
    yield Quad(s, N(PAV + "version"), Literal(table.release.isoformat()), g)
    yield Quad(s, N(DCTERMS + "issued"), _literal(table.release.isoformat()), g)
    yield Quad(s, N(DCAT + "downloadURL"), N(table.download_url), g)
    yield Quad(s, N(DCTERMS + "license"), N(table.license), g)
    yield Quad(s, N(DCTERMS + "rights"), Literal(table.rights, language="en"), g)
    yield Quad(s, N(DCTERMS + "source"), Literal(table.file_name), g)


def claim_quads(claim: Claim, source: Source | TableSource, np_iri: str, superseded: str | None, ns: Namespaces) -> Iterator[Quad]:
    """The four graphs of one claim's nanopublication, named ``np_iri`` (``superseded``: the IRI it corrects)."""
    head, assertion, provenance, pubinfo = (N(f"{np_iri}#{part}") for part in ("head", "assertion", "provenance", "pubinfo"))
    np_node = N(np_iri)
    yield Quad(np_node, N(RDF + "type"), N(NP + "Nanopublication"), head)
    yield Quad(np_node, N(NP + "hasAssertion"), assertion, head)
    yield Quad(np_node, N(NP + "hasProvenance"), provenance, head)
    yield Quad(np_node, N(NP + "hasPublicationInfo"), pubinfo, head)

    assoc = N(f"{np_iri}#association")
    obj = N(claim.object) if claim.object else _literal(claim.value)
    yield Quad(assoc, N(RDF + "type"), N(BIOLINK + "Association"), assertion)
    if claim.association != BIOLINK + "Association":
        yield Quad(assoc, N(RDF + "type"), N(claim.association), assertion)
    yield Quad(assoc, N(BIOLINK + "subject"), N(claim.subject), assertion)
    yield Quad(assoc, N(BIOLINK + "predicate"), N(claim.predicate), assertion)
    yield Quad(assoc, N(BIOLINK + "object"), obj, assertion)
    direction = DIRECTIONS[claim.direction]
    yield Quad(assoc, N(ns.entity + "direction"), N(direction_iri(direction, ns)), assertion)
    yield Quad(assoc, N(BIOLINK + "negated"), _literal(direction.negated), assertion)
    yield Quad(assoc, N(BIOLINK + "knowledge_level"), N(direction.knowledge_level), assertion)
    agent = "automated_agent" if claim.row and claim.row.automated else "manual_agent"
    yield Quad(assoc, N(BIOLINK + "agent_type"), N(BIOLINK + agent), assertion)
    yield Quad(assoc, N(BIOLINK + "primary_knowledge_source"), N(claim.primary_source), assertion)
    for aggregator in claim.aggregators:
        yield Quad(assoc, N(BIOLINK + "aggregator_knowledge_source"), N(aggregator), assertion)
    if claim.certainty:
        yield Quad(assoc, N(ns.entity + "certainty"), N(f"{ns.entity}certainty-{claim.certainty}"), assertion)
    if claim.frequency:
        yield Quad(assoc, N(BIOLINK + "frequency_qualifier"), Literal(claim.frequency), assertion)
    if claim.row:
        yield from _row_qualifiers(assoc, claim.row, assertion)
    if claim.asserted:
        yield Quad(N(claim.subject), N(claim.predicate), obj, assertion)

    target = N(f"{np_iri}#row" if claim.row else f"{np_iri}#quote")
    quote_sel, position_sel = N(f"{np_iri}#text-quote"), N(f"{np_iri}#text-position")
    yield Quad(assertion, N(PROV + "wasDerivedFrom"), target, provenance)
    yield Quad(assertion, N(BIOLINK + "has_evidence"), N(claim.evidence), provenance)
    if claim.note:
        yield Quad(assertion, N(RDFS + "comment"), Literal(claim.note), provenance)
    yield Quad(target, N(RDF + "type"), N(OA + "SpecificResource"), provenance)
    yield Quad(target, N(OA + "hasSource"), N(ns.source + claim.source), provenance)
    yield Quad(target, N(OA + "hasSelector"), quote_sel, provenance)
    yield Quad(target, N(OA + "hasSelector"), position_sel, provenance)
    yield Quad(quote_sel, N(RDF + "type"), N(OA + "TextQuoteSelector"), provenance)
    yield Quad(quote_sel, N(OA + "exact"), Literal(claim.quote), provenance)
    if isinstance(source, Source):  # a table's text is not kept, so neither is what surrounds a row
        text = source.text
        yield Quad(quote_sel, N(OA + "prefix"), Literal(text[max(0, claim.start - QUOTE_CONTEXT):claim.start]), provenance)
        yield Quad(quote_sel, N(OA + "suffix"), Literal(text[claim.end:claim.end + QUOTE_CONTEXT]), provenance)
    else:
        line_sel = N(f"{np_iri}#line")
        yield Quad(target, N(OA + "hasSelector"), line_sel, provenance)
        yield Quad(line_sel, N(RDF + "type"), N(OA + "FragmentSelector"), provenance)
        yield Quad(line_sel, N(DCTERMS + "conformsTo"), N(RFC5147), provenance)
        yield Quad(line_sel, N(RDF + "value"), Literal(f"line={claim.line - 1},{claim.line}"), provenance)
    yield Quad(position_sel, N(RDF + "type"), N(OA + "TextPositionSelector"), provenance)
    yield Quad(position_sel, N(OA + "start"), _literal(claim.start), provenance)
    yield Quad(position_sel, N(OA + "end"), _literal(claim.end), provenance)

    yield Quad(np_node, N(DCTERMS + "creator"), N(claim.creator), pubinfo)
    yield Quad(np_node, N(DCTERMS + "created"), Literal(_timestamp(claim.created), datatype=N(XSD + "dateTime")), pubinfo)
    yield Quad(np_node, N(DCTERMS + "license"), N(claim.row.license if claim.row else LICENSE), pubinfo)
    if superseded:
        yield Quad(np_node, N(NPX + "supersedes"), N(superseded), pubinfo)


def _row_qualifiers(assoc: NamedNode, row: Row, g: NamedNode) -> Iterator[Quad]:
    """What a table row states beyond the triple: its frequency, onset, modifiers, references."""
    if row.frequency:
        yield Quad(assoc, N(BIOLINK + "frequency_qualifier"), N(row.frequency), g)
    if row.count is not None and row.total is not None:
        yield Quad(assoc, N(BIOLINK + "has_count"), _literal(row.count), g)
        yield Quad(assoc, N(BIOLINK + "has_total"), _literal(row.total), g)
    if row.percentage is not None:
        yield Quad(assoc, N(BIOLINK + "has_percentage"), Literal(repr(row.percentage), datatype=N(XSD + "double")), g)
    if row.onset:
        yield Quad(assoc, N(BIOLINK + "onset_qualifier"), N(row.onset), g)
    for modifier in row.modifiers:
        yield Quad(assoc, N(BIOLINK + "qualifiers"), N(modifier), g)
    for publication in row.publications:
        yield Quad(assoc, N(BIOLINK + "publications"), N(publication), g)


def _timestamp(created: dt.date | dt.datetime) -> str:
    """An ``xsd:dateTime`` in UTC; a curated file's date is its midnight."""
    moment = created if isinstance(created, dt.datetime) else dt.datetime.combine(created, dt.time(), dt.UTC)
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def nanopublication(claim: Claim, source: Source | TableSource, superseded: str | None, ns: Namespaces,
                    signer: Signer | None = None) -> tuple[str, list[Quad]]:
    """A claim's nanopublication, signed when a signer is given, and its Trusty URI."""
    placeholder = ns.claim + PLACEHOLDER
    quads = list(claim_quads(claim, source, placeholder, superseded, ns))
    if signer is not None:
        quads = signer.sign(quads, placeholder, ns.claim, N(placeholder + "#pubinfo"))
    iri = ns.claim + code(quads, placeholder, ns.claim)
    return iri, rename(quads, placeholder, iri)


def curated_in(claim: Claim, source: Source | TableSource) -> str:
    """Where a claim was curated, as its curation record names it: the table's file, or the claims file."""
    return source.file_name if isinstance(source, TableSource) else f"kg/claims/{claim.file.name}"


def curation_quads(claim: Claim, iri: str, ns: Namespaces, curated_in: str | None) -> Iterator[Quad]:
    """Where a claim was curated and what compiled it: beside its nanopublication, not part of it.

    Its key always; its file (``curated_in``: a claims file, or a table's file) and line when it comes from one.
    """
    g, node = N(ns.graph + "curation"), N(iri)
    yield Quad(node, N(ns.entity + "claimKey"), Literal(claim.key), g)
    if curated_in:
        yield Quad(node, N(ns.entity + "curatedIn"), Literal(curated_in), g)
        yield Quad(node, N(ns.entity + "curatedAtLine"), _literal(claim.line), g)
    yield Quad(node, N(PAV + "createdWith"), Literal(TOOL), g)


@dataclass
class Compiled:
    """The dataset's quads and the nanopublication IRI of each claim key."""

    quads: list[Quad]
    iris: dict[str, str]


def compile_dataset(sources: Mapping[str, Source | TableSource], claims: list[Claim], ns: Namespaces, static_quads: Iterable[Quad] = (),
                    signer: Signer | None = None) -> Compiled:
    """All quads of the dataset (``static_quads``: ontology and mappings), sorted so that serializations are byte-identical.

    A correction's IRI depends on the IRI of the claim it supersedes, so superseded claims are compiled first.
    """
    quads: set[Quad] = set(static_quads)
    for source in sources.values():
        quads.update(source_quads(source, ns))
    by_key = {c.key: c for c in claims}
    iris: dict[str, str] = {}

    def compile_claim(claim: Claim, chain: tuple[str, ...]) -> str:
        if claim.key not in iris:
            if claim.key in chain:
                raise CurationError(claim.file, claim.line, f"claims supersede each other in a cycle: {' -> '.join(chain)}")
            old = compile_claim(by_key[claim.supersedes], (*chain, claim.key)) if claim.supersedes else None
            iris[claim.key], nanopub = nanopublication(claim, sources[claim.source], old, ns, signer)
            quads.update(nanopub)
            quads.update(curation_quads(claim, iris[claim.key], ns, curated_in(claim, sources[claim.source])))
        return iris[claim.key]

    for claim in claims:
        compile_claim(claim, ())
    return Compiled(sorted(quads, key=quad_order), iris)


def prefixes_for(ns: Namespaces) -> dict[str, str]:
    """The project's prefix table, used wherever Turtle or TriG is written (files, documents, VoID)."""
    return {**ns.prefixes(), "np": NP, "npx": NPX, "prov": PROV, "oa": OA, "rdf": RDF, "rdfs": RDFS, "owl": OWL,
            "xsd": XSD, "pav": PAV, "spdx": SPDX, "dcat": DCAT, "void": VOID, "hydra": HYDRA}


def write_dataset(quads: list[Quad], out_dir: Path, ns: Namespaces) -> list[Path]:
    """Write ``dataset.trig`` and ``dataset.nq``; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fmt in (("dataset.trig", RdfFormat.TRIG), ("dataset.nq", RdfFormat.N_QUADS)):
        path = out_dir / name
        data = serialize(quads, format=fmt, prefixes=prefixes_for(ns) if fmt is RdfFormat.TRIG else None)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data or b"")
        tmp.replace(path)
        paths.append(path)
    return paths
