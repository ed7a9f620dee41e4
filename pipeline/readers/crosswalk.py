"""The terminology crosswalk: SSSOM mapping files (``kg/mappings/*.sssom.tsv``) compiled into a mappings graph.

Each row becomes the direct SKOS triple (``MONDO:0017364 skos:exactMatch SCTID:79268002``) plus an ``owl:Axiom``
that carries the mapping's justification, where it was checked (``mapping_source``) and the curator's comment, so
the mapping itself is queryable with its provenance. Every code also gets ``skos:notation`` and ``skos:inScheme``
(its FHIR code system URI), which is what look-up by ``(system, code)`` queries.
"""

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad

from kg.model import CurationError
from kg.namespaces import DCTERMS, OWL, RDF, RDFS, SKOS, CurieError, Namespaces
from kg.settings import PACKAGE_ROOT
from kg.terms import ontology_files, problem, read_text

COLUMNS = ("subject_id", "subject_label", "predicate_id", "object_id", "object_label", "mapping_justification",
           "mapping_source", "comment")
PREDICATES = ("skos:exactMatch", "skos:closeMatch", "skos:broadMatch", "skos:narrowMatch", "skos:relatedMatch")
SSSOM = "https://w3id.org/sssom/"


@dataclass(frozen=True)
class Mapping:
    """One checked mapping from an entity the claims use to a code in another system."""

    subject: str
    subject_label: str
    predicate: str
    object: str
    object_label: str
    justification: str
    source: str
    comment: str
    file: Path
    line: int


def _row(path: Path, line: int, row: dict[str, str], ns: Namespaces, files: tuple[Path, ...]) -> Mapping:
    missing = [c for c in COLUMNS[:4] + COLUMNS[5:7] if not row.get(c)]
    if missing:
        raise CurationError(path, line, f"missing value for {', '.join(missing)}")
    if row["predicate_id"] not in PREDICATES:
        raise CurationError(path, line, f"predicate_id '{row['predicate_id']}' must be one of {', '.join(PREDICATES)}")
    if not row["mapping_source"].startswith(("http://", "https://")):
        raise CurationError(path, line, f"mapping_source '{row['mapping_source']}' must be the URL where the mapping was checked")
    for column in ("subject_id", "object_id", "mapping_justification"):
        try:
            ns.expand(row[column])
        except CurieError as exc:
            raise CurationError(path, line, f"{column}: {exc}") from None
    if wrong := problem(ns.expand(row["subject_id"]), ns, row["subject_label"], files):
        raise CurationError(path, line, f"subject: {wrong}")
    if not row["mapping_justification"].startswith("semapv:"):
        raise CurationError(path, line, "mapping_justification must be a semapv: term, e.g. semapv:ManualMappingCuration")
    return Mapping(row["subject_id"], row["subject_label"], row["predicate_id"], row["object_id"], row["object_label"],
                   row["mapping_justification"], row["mapping_source"], row.get("comment") or "", path, line)


def load_mappings(kg_dir: Path, ns: Namespaces) -> list[Mapping]:
    """Every mapping in ``kg_dir/mappings/*.sssom.tsv`` (or ``.sssom.tsv.gz``); ``CurationError`` (file:line) on a bad row.

    A folder of curated data without ``mappings/`` uses the packaged ones (MONDO's exact mappings and the curated rows).
    Subjects are checked in the ontology files with the folder's own import slices.
    """
    out: list[Mapping] = []
    folder = kg_dir / "mappings" if (kg_dir / "mappings").is_dir() else PACKAGE_ROOT / "kg" / "mappings"
    files = ontology_files(kg_dir)
    for path in sorted([*folder.glob("*.sssom.tsv"), *folder.glob("*.sssom.tsv.gz")]):
        lines = read_text(path).splitlines()
        header_at = next((i for i, text in enumerate(lines) if not text.startswith("#")), len(lines))
        reader = csv.DictReader(lines[header_at:], delimiter="\t")
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise CurationError(path, header_at + 1, f"the column header must be: {' '.join(COLUMNS)}")
        out.extend(_row(path, header_at + 2 + i, row, ns, files) for i, row in enumerate(reader))
    return out


def mapping_quads(mappings: list[Mapping], ns: Namespaces) -> Iterator[Quad]:
    """The mappings graph: direct SKOS triples, one annotated axiom per mapping, and every code's notation."""
    g = NamedNode(ns.graph + "mappings")
    for m in mappings:
        s, p, o = (NamedNode(ns.expand(c)) for c in (m.subject, m.predicate, m.object))
        yield Quad(s, p, o, g)
        axiom = NamedNode(f"{ns.base}mapping/{m.subject.replace(':', '_')}--{m.object.replace(':', '_')}")
        yield Quad(axiom, NamedNode(RDF + "type"), NamedNode(OWL + "Axiom"), g)
        yield Quad(axiom, NamedNode(RDF + "type"), NamedNode(SSSOM + "Mapping"), g)
        yield Quad(axiom, NamedNode(OWL + "annotatedSource"), s, g)
        yield Quad(axiom, NamedNode(OWL + "annotatedProperty"), p, g)
        yield Quad(axiom, NamedNode(OWL + "annotatedTarget"), o, g)
        yield Quad(axiom, NamedNode(SSSOM + "mapping_justification"), NamedNode(ns.expand(m.justification)), g)
        yield Quad(axiom, NamedNode(DCTERMS + "source"), NamedNode(m.source), g)
        if m.comment:
            yield Quad(axiom, NamedNode(RDFS + "comment"), Literal(m.comment), g)
        for curie, node in ((m.subject, s), (m.object, o)):
            system, code = ns.coding(curie)
            yield Quad(node, NamedNode(SKOS + "notation"), Literal(code), g)
            yield Quad(node, NamedNode(SKOS + "inScheme"), NamedNode(system), g)
        if m.object_label:  # the code's name in its own system; the subject is labelled where the claims use it
            yield Quad(o, NamedNode(SKOS + "prefLabel"), Literal(m.object_label), g)


# Prefixes of MONDO's mapping sets that poems-kg spells otherwise.
MONDO_SET_PREFIXES = {"mesh": "MESH", "icd11.foundation": "ICD11"}
MONDO_MAPPINGS_HEADER = """# curie_map: the prefixes of kg/namespaces.py
# mapping_set_id: https://w3id.org/poems-kg/mappings/mondo-exact
# mapping_set_description: Every exact match MONDO's own mapping sets list for the MONDO terms the claims use
#   (ontology/imports/mondo_terms.txt). Generated by `poems-kg refresh-imports`; do not edit.
# license: https://creativecommons.org/publicdomain/zero/1.0/
"""


def mondo_mappings(sets: Iterable[tuple[Path, str]], curies: Iterable[str], objects: Iterable[str] = (),
                   header: str = MONDO_MAPPINGS_HEADER) -> bytes:
    """The SSSOM text of every exact match in MONDO's mapping sets (files with their sources) for the terms ``curies``.

    Also every exact match to one of the codes ``objects`` (as poems-kg names them). Each row names the set's versioned
    PURL (``mapping_source``) and, in ``comment``, the file and release it was read from.
    """
    wanted, codes = set(curies), set(objects)
    rows: list[list[str]] = []
    for path, source in sorted(sets, key=lambda s: s[0].name):
        lines = path.read_text(encoding="utf-8").splitlines()
        meta = dict(line[2:].split(": ", 1) for line in lines if line.startswith("# ") and ": " in line)
        for r in csv.DictReader((line for line in lines if not line.startswith("#")), delimiter="\t"):
            prefix, _, local = r["object_id"].partition(":")
            code = f"{MONDO_SET_PREFIXES.get(prefix, prefix)}:{local}"
            if (r["subject_id"] in wanted or code in codes) and r["predicate_id"] == "skos:exactMatch":
                rows.append([r["subject_id"], r["subject_label"], r["predicate_id"], code, r.get("object_label") or "",
                             r["mapping_justification"], meta["mapping_set_version"], f"Read from {source}"])
    body = "\n".join("\t".join(r) for r in [list(COLUMNS), *sorted(rows)])
    return (header + body + "\n").encode()
