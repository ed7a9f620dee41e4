"""Every term the graph may name, and where the ontology's files are.

The terms are the project's own (``ontology/poems-kg.ttl``) and the standard ones of the import slices.

The build checks each identifier a claim uses against this index: a term that is not in it (an invented or mistyped
identifier, or one nobody added to a term list), an obsolete one, or a label its ontology does not use is a curation
error, reported with file and line.
"""

import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from kg.namespaces import Namespaces

ONTOLOGY_DIR = Path(__file__).resolve().parent.parent / "ontology"
# The ontology's source of truth and its import slices (ontology/imports/*_import.ttl; see ontology/slice.py).
ONTOLOGY_FILES = (ONTOLOGY_DIR / "poems-kg.ttl", *sorted((ONTOLOGY_DIR / "imports").glob("*_import.ttl")))


def ontology_files(kg_dir: Path) -> tuple[Path, ...]:
    """The ontology files, and the import slices a folder of curated data brings (``imports/*_import.ttl.gz``)."""
    return (*ONTOLOGY_FILES, *sorted((kg_dir / "imports").glob("*_import.ttl.gz")))


def read_text(path: Path) -> str:
    """The text of an ontology file, gzipped (``.gz``) or not."""
    return gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Term:
    """A term as the ontology files describe it."""

    iri: str
    label: str
    synonyms: tuple[str, ...]
    replaced_by: str | None
    obsolete: bool
    file: str
    parents: tuple[str, ...] = ()
    is_class: bool = False  # an owl:Class (not a property, an individual or an enum value)

    def names(self) -> set[str]:
        """The label and every exact synonym."""
        return {self.label, *self.synonyms}


@lru_cache(maxsize=4)
def index(base_iri: str, files: tuple[Path, ...] = ONTOLOGY_FILES) -> dict[str, Term]:
    """IRI -> term, for every labelled term of the ontology files (rebased to ``base_iri``)."""
    ns = Namespaces(base_iri)
    out: dict[str, Term] = {}
    for path in files:
        graph = Graph().parse(data=ns.rebase(read_text(path)), format="turtle")
        for node, label in graph.subject_objects(RDFS.label):
            if isinstance(node, URIRef) and str(node) not in out:
                synonyms = tuple(sorted(str(s) for s in graph.objects(node, SKOS.altLabel)))
                replaced = graph.value(node, DCTERMS.isReplacedBy)
                out[str(node)] = Term(str(node), str(label), synonyms, str(replaced) if replaced else None,
                                      (node, OWL.deprecated, Literal(True)) in graph,
                                      str(path.relative_to(ONTOLOGY_DIR.parent)) if path.is_relative_to(ONTOLOGY_DIR.parent)
                                      else str(path),
                                      tuple(sorted(str(p) for p in graph.objects(node, RDFS.subClassOf)
                                                   if isinstance(p, URIRef))),
                                      (node, RDF.type, OWL.Class) in graph)
    return out


def descends(iri: str, root: str, ns: Namespaces, files: tuple[Path, ...] = ONTOLOGY_FILES) -> bool:
    """Whether ``iri`` is ``root`` or under it, through the parents the ontology files give."""
    terms, todo, seen = index(ns.base, files), [iri], set()
    while todo:
        current = todo.pop()
        if current == root:
            return True
        if current not in seen and current in terms:
            seen.add(current)
            todo.extend(terms[current].parents)
    return False


def problem(iri: str, ns: Namespaces, label: str | None = None, files: tuple[Path, ...] = ONTOLOGY_FILES) -> str | None:
    """What is wrong with naming ``iri`` (with the curator's ``label``, if given) in ``files``, or None when nothing is."""
    terms = index(ns.base, files)
    curie = ns.compact(iri)
    term = terms.get(iri)
    if term is None:
        if iri.startswith(ns.entity):
            return f"{curie} is not defined in ontology/poems-kg.ttl (mint a term there, with a definition and its mappings)"
        prefix = curie.split(":", 1)[0].lower()
        return (f"{curie} is not in the import slice: check it in its ontology's own files, add it to "
                f"ontology/imports/{prefix}_terms.txt and run `poems-kg refresh-imports`")
    if term.obsolete:
        new = terms.get(term.replaced_by or "")
        instead = f"; use {ns.compact(new.iri)} ({new.label})" if new else ""
        return f"{curie} is obsolete in its ontology ('{term.label}', {term.file}){instead}"
    if label is not None and label not in term.names():
        return f"'{label}' is not a label of {curie} in its ontology, which names it '{term.label}'"
    return None
