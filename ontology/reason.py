"""OWL reasoning with owlready2 + HermiT over the ontology and the positive assertions of the KG.

Class-level claims (``biolink:subclass_of``) become ``rdfs:subClassOf`` axioms. An asserted triple of a property
the ontology constrains (``constrained_properties``) becomes a property assertion between the entities'
*representative individuals* (one generic instance per entity, typed with the entity's class), so HermiT can classify
them and infer property values. Inferred facts come back as triples about the entities themselves, in the named graph
``<base>graph/inferred``, never mixed into the curated graphs.

An assertion of a property the ontology constrains in no way entails the same for any two entities: HermiT sees one
such assertion per property, between two fresh individuals, and what it infers from it is applied to the others. An
entity named only in such assertions needs no individual either: its individual would only be a member of its class,
so HermiT classifies the class, and the class having no possible member is the inconsistency the individual would
have caused. A whole annotation file (hundreds of thousands of ``has_phenotype`` rows) then costs HermiT its classes,
not its rows.
"""

import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import owlready2
from pyoxigraph import Literal, NamedNode, Quad
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg.namespaces import BIOLINK, PROV, Namespaces
from kg.terms import ONTOLOGY_FILES, read_text

SUBCLASS_OF = BIOLINK + "subclass_of"


class ReasoningError(RuntimeError):
    """Reasoning could not run (for example, Java is missing)."""


@dataclass
class Report:
    """Outcome of reasoning over one dataset."""

    consistent: bool
    explanation: str = ""
    offending_claims: list[str] = field(default_factory=list)
    inferred: list[Quad] = field(default_factory=list)
    seconds: float = 0.0


def asserted(q: Quad) -> bool:
    """Whether a quad is a direct triple of an assertion graph between two IRIs (what reasoning reads of a claim)."""
    graph = getattr(q.graph_name, "value", "")
    # the association node's own statements are not: its IRI is the nanopublication's
    return (graph.endswith("#assertion") and isinstance(q.object, NamedNode)
            and not getattr(q.subject, "value", "").startswith(graph[: -len("assertion")]))


def asserted_triples(quads: list[Quad]) -> dict[tuple[str, str, str], set[str]]:
    """Direct triples of assertion graphs between two IRIs, with the claims (nanopublications) stating them."""
    out: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for q in filter(asserted, quads):
        out[(q.subject.value, q.predicate.value, q.object.value)].add(q.graph_name.value[: -len("#assertion")])  # type: ignore[union-attr]
    return out


def _instance(iri: str, ns: Namespaces) -> URIRef:
    return URIRef(ns.entity + "instance/" + iri.replace("://", "/").replace("#", "/"))


# What declares a property, places it in the property hierarchy or annotates it: nothing that constrains it.
_DECLARATIONS = {OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property}
_HIERARCHY = {RDFS.subPropertyOf, OWL.equivalentProperty}
_ANNOTATIONS = {RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy, OWL.deprecated, OWL.versionInfo,
                OWL.priorVersion, OWL.backwardCompatibleWith, OWL.incompatibleWith}


def constrained_properties(ontology: Graph) -> set[str]:
    """The properties whose assertions can entail more than the values of their super- and equivalent properties.

    A property is constrained when an OWL or RDFS axiom names it other than its declaration, its place in the
    property hierarchy or an annotation: a restriction, a domain or range, an inverse, a characteristic, a chain, a
    key, a disjointness, a negative assertion. Every sub-property of a constrained property is constrained too.
    (``owl:topObjectProperty`` among them constrains every property.)
    """
    logical = (str(OWL), str(RDFS))
    constrained: set[URIRef] = set()
    for s, p, o in ontology:
        if p in _HIERARCHY or p in _ANNOTATIONS or (p == RDF.type and o in _DECLARATIONS):
            continue
        if p == RDF.type or p == RDF.first or str(p).startswith(logical):
            constrained |= {t for t in (s, o) if isinstance(t, URIRef)}
    subs: dict[URIRef, set[URIRef]] = defaultdict(set)
    for s, o in ontology.subject_objects(RDFS.subPropertyOf):
        subs[o].add(s)  # type: ignore[index,arg-type]
    for s, o in ontology.subject_objects(OWL.equivalentProperty):
        subs[o].add(s)  # type: ignore[index,arg-type]
        subs[s].add(o)  # type: ignore[index,arg-type]
    todo = list(constrained)
    while todo:
        for sub in subs[todo.pop()] - constrained:
            constrained.add(sub)
            todo.append(sub)
    return {str(p) for p in constrained}


@dataclass
class Input:
    """What HermiT reads, and how to read its answer back."""

    graph: Graph
    back: dict[str, str]  # representative individual -> entity
    classes_only: set[str]  # entities named only in assertions of unconstrained properties: no individual
    stand_ins: dict[str, tuple[str, str]]  # unconstrained property -> the fresh individuals of its one assertion
    by_stand_in: dict[str, list[tuple[str, str]]]  # unconstrained property -> (subject, object) of its assertions


def reasoning_input(triples: dict[tuple[str, str, str], set[str]], ns: Namespaces,
                    files: tuple[Path, ...] = ONTOLOGY_FILES) -> Input:
    """The OWL graph HermiT sees, and how to read its answer back.

    It holds the ontology, the class-level claims as axioms, the assertions of constrained properties between
    individuals of their entities (each typed with its entity), one stand-in assertion per unconstrained property,
    and every other entity as a class.
    """
    graph = Graph()
    for path in files:
        graph.parse(data=ns.rebase(read_text(path)), format="turtle")
    constrained = constrained_properties(graph)
    everything = str(OWL.topObjectProperty) in constrained
    out = Input(graph, {}, set(), {}, defaultdict(list))
    for s, p, o in triples:
        if p == SUBCLASS_OF:
            graph.add((URIRef(s), RDFS.subClassOf, URIRef(o)))
            continue
        graph.add((URIRef(p), RDF.type, OWL.ObjectProperty))
        graph.add((URIRef(s), RDF.type, OWL.Class))
        graph.add((URIRef(o), RDF.type, OWL.Class))
        if everything or p in constrained:
            for entity in (s, o):
                inst = _instance(entity, ns)
                out.back[str(inst)] = entity
                graph.add((inst, RDF.type, OWL.NamedIndividual))
                graph.add((inst, RDF.type, URIRef(entity)))
            graph.add((_instance(s, ns), URIRef(p), _instance(o, ns)))
            continue
        out.classes_only |= {s, o}
        if p not in out.stand_ins:
            pair = tuple(URIRef(f"{ns.entity}instance/stand-in/{len(out.stand_ins)}/{end}") for end in ("subject", "object"))
            graph.add((pair[0], RDF.type, OWL.NamedIndividual))
            graph.add((pair[1], RDF.type, OWL.NamedIndividual))
            graph.add((pair[0], URIRef(p), pair[1]))
            out.stand_ins[p] = (str(pair[0]), str(pair[1]))
        out.by_stand_in[p].append((s, o))
    out.classes_only -= set(out.back.values())
    return out


def _hermit(given: Input) -> owlready2.World:
    """Load the input into a fresh owlready2 world and run HermiT; raises on inconsistency."""
    if shutil.which(owlready2.JAVA_EXE) is None and shutil.which("java") is None:
        raise ReasoningError("the HermiT reasoner needs Java (8 or newer): install it, e.g. `apt-get install default-jre-headless`")
    world = owlready2.World()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.owl"
        given.graph.serialize(path, format="xml")
        onto = world.get_ontology(path.as_uri()).load()
        with onto:
            owlready2.sync_reasoner_hermit(world, infer_property_values=True, debug=0)
    empty = sorted({c.iri for c in world.inconsistent_classes()} & given.classes_only)
    if empty:  # each is an entity, so it has a member: the individual HermiT was not given
        raise owlready2.OwlReadyInconsistentOntologyError(
            f"HermiT: {', '.join(empty)} can have no member, yet claims name it as an entity")
    return world


def _consistent(given: Input) -> tuple[bool, str]:
    try:
        _hermit(given)
    except owlready2.OwlReadyInconsistentOntologyError as exc:
        return False, str(exc) or "HermiT: the ontology is inconsistent"
    return True, ""


def _values(world: owlready2.World, inst: owlready2.Thing) -> Iterator[tuple[str, str]]:
    """(property, individual) for every value HermiT gives ``inst``, under each name of its property."""
    for prop in inst.get_properties():
        # HermiT names one property of an equivalence set; the others hold the same values
        names = {prop.iri, *(p.iri for p in prop.equivalent_to if isinstance(p, owlready2.ObjectPropertyClass))}
        for value in prop[inst]:
            for name in names:
                yield name, getattr(value, "iri", "")


def _inferred_quads(world: owlready2.World, given: Input, asserted: set[tuple[str, str, str]],
                    ns: Namespaces) -> list[Quad]:
    graph = NamedNode(ns.graph + "inferred")
    entity_classes = {*given.back.values(), *given.classes_only} | {s for s, p, _ in asserted if p == SUBCLASS_OF}
    out: set[Quad] = set()

    def add(s: str, p: str, o: str) -> None:
        if (s, p, o) not in asserted:
            out.add(Quad(NamedNode(s), NamedNode(p), NamedNode(o), graph))

    for iri in sorted(entity_classes):
        cls = world[iri]
        if isinstance(cls, owlready2.ThingClass):
            for ancestor in cls.ancestors(include_self=False):
                if isinstance(ancestor, owlready2.ThingClass) and ancestor is not owlready2.Thing:
                    out.add(Quad(NamedNode(iri), NamedNode(str(RDFS.subClassOf)), NamedNode(ancestor.iri), graph))
    for inst_iri, entity in given.back.items():
        inst = world[inst_iri]
        if inst is None:
            continue
        for cls in inst.is_a:
            if isinstance(cls, owlready2.ThingClass) and cls.iri != entity:
                out.add(Quad(NamedNode(entity), NamedNode(str(RDFS.subClassOf)), NamedNode(cls.iri), graph))
        for name, value in _values(world, inst):
            if value in given.back:
                add(entity, name, given.back[value])
    for entity in given.classes_only:  # what realization gives its individual besides its class: its equivalents
        cls = world[entity]
        for other in getattr(cls, "INDIRECT_equivalent_to", ()):
            if isinstance(other, owlready2.ThingClass) and other.iri != entity:
                out.add(Quad(NamedNode(entity), NamedNode(str(RDFS.subClassOf)), NamedNode(other.iri), graph))
    for prop, (subject, obj) in given.stand_ins.items():
        names = {name for name, value in _values(world, world[subject]) if value == obj}
        for s, o in given.by_stand_in[prop]:
            for name in names:
                add(s, name, o)
    out.add(Quad(graph, NamedNode(BIOLINK + "knowledge_level"), NamedNode(BIOLINK + "logical_entailment"), graph))
    out.add(Quad(graph, NamedNode(BIOLINK + "agent_type"), NamedNode(BIOLINK + "automated_agent"), graph))
    out.add(Quad(graph, NamedNode(PROV + "wasGeneratedBy"), Literal(f"HermiT via owlready2 {owlready2.VERSION}"), graph))
    return sorted(out, key=str)


def _offenders(triples: dict[tuple[str, str, str], set[str]], ns: Namespaces, files: tuple[Path, ...]) -> list[str]:
    """Claims about the subjects whose own assertions are inconsistent with the ontology.

    Subjects are checked in groups, and only the halves of an inconsistent group again: what is consistent together is
    consistent apart (OWL is monotonic), so a few offenders among thousands of subjects take a few dozen HermiT runs,
    not one per subject.
    """
    by_subject: dict[str, dict[tuple[str, str, str], set[str]]] = defaultdict(dict)
    for triple, claims in triples.items():
        by_subject[triple[0]][triple] = claims
    offending: set[str] = set()
    subjects = sorted(by_subject)
    groups = [subjects[:len(subjects) // 2], subjects[len(subjects) // 2:]]  # all together: the run that failed
    while groups:
        group = groups.pop()
        subset = {triple: claims for subject in group for triple, claims in by_subject[subject].items()}
        if not group or _consistent(reasoning_input(subset, ns, files))[0]:
            continue
        if len(group) == 1:
            offending.update(c for claims in subset.values() for c in claims)
        else:
            groups += [group[:len(group) // 2], group[len(group) // 2:]]
    return sorted(offending)


def reason(quads: list[Quad], ns: Namespaces, files: tuple[Path, ...] = ONTOLOGY_FILES) -> Report:
    """Check consistency and infer the hierarchy and property values (a source contradicting itself: ``pipeline.build``).

    ``files``: the ontology files with the import slices of the curated folder (``Build.files``).
    """
    started = time.perf_counter()
    triples = asserted_triples(quads)
    given = reasoning_input(triples, ns, files)
    try:
        world = _hermit(given)
    except owlready2.OwlReadyInconsistentOntologyError as exc:
        return Report(False, str(exc) or "HermiT: the ontology is inconsistent", _offenders(triples, ns, files),
                      seconds=time.perf_counter() - started)
    inferred = _inferred_quads(world, given, set(triples), ns)
    return Report(True, inferred=inferred, seconds=time.perf_counter() - started)
