"""Biolink: the category of each term, the association class of each claim, and what the exchange formats leave out.

All three come from one table, ``ontology/biolink.yaml``. The readers give every claim its association class and
refuse a claim naming a term with no category; the build writes each term's category into the graph; the KGX
export, and through it the TRAPI provider, reads ``left_out`` (the one rule of what Biolink exchange carries).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pyoxigraph import NamedNode, Quad
from ruamel.yaml import YAML

from kg.direction import Direction
from kg.namespaces import BIOLINK, CurieError, Namespaces
from kg.terms import ONTOLOGY_DIR, ONTOLOGY_FILES, descends, index, problem

TABLE_FILE = ONTOLOGY_DIR / "biolink.yaml"
ASSOCIATION = BIOLINK + "Association"
CATEGORY = BIOLINK + "category"


@dataclass(frozen=True)
class Rule:
    """One row of the category table: a term, a branch or a prefix, and its Biolink category (IRIs; a prefix plain)."""

    kind: str  # "term", "branch" or "prefix"
    match: str
    category: str
    why: str


@dataclass(frozen=True)
class Table:
    """The parsed ``ontology/biolink.yaml``, CURIEs expanded."""

    rules: tuple[Rule, ...]
    associations: dict[tuple[str, str, str], str]  # (subject category, predicate, object category) -> class
    left_out_predicates: dict[str, str]  # predicate IRI -> why
    left_out_prefixes: dict[str, str]  # prefix -> why
    left_out_directions: dict[str, str]  # direction keyword -> why


@lru_cache(maxsize=4)
def table(base_iri: str) -> Table:
    """The table, CURIEs expanded for ``base_iri``."""
    ns = Namespaces(base_iri)
    doc = YAML(typ="safe").load(TABLE_FILE.read_text(encoding="utf-8"))
    order = {"term": 0, "branch": 1, "prefix": 2}
    rules = []
    for row in doc["categories"]:
        kind = next(k for k in order if k in row)
        match = row[kind] if kind == "prefix" else ns.expand(row[kind])
        rules.append(Rule(kind, match, ns.expand(row["category"]), " ".join(str(row["why"]).split())))
    left_out = doc["not_exchanged"]
    return Table(tuple(sorted(rules, key=lambda r: order[r.kind])),
                 {(ns.expand(s), ns.expand(p), ns.expand(o)): ns.expand(a) for s, p, o, a in doc["associations"]},
                 {ns.expand(p): " ".join(why.split()) for p, why in left_out["predicates"].items()},
                 {p: " ".join(why.split()) for p, why in left_out["prefixes"].items()},
                 {d: " ".join(why.split()) for d, why in left_out["directions"].items()})


def category(iri: str, ns: Namespaces, files: tuple[Path, ...] = ONTOLOGY_FILES) -> str | None:
    """The Biolink category of a term (the first rule that matches), or None when no rule gives it one."""
    prefix = ns.compact(iri).split(":", 1)[0]
    for rule in table(ns.base).rules:
        if ((rule.kind == "term" and rule.match == iri) or (rule.kind == "prefix" and rule.match == prefix)
                or (rule.kind == "branch" and descends(iri, rule.match, ns, files))):
            return rule.category
    return None


def uncategorized(iri: str, ns: Namespaces, files: tuple[Path, ...] = ONTOLOGY_FILES) -> str | None:
    """Why a claim cannot name ``iri`` as its subject or object for want of a category, or None when it can."""
    if iri.startswith(ns.source) or category(iri, ns, files):
        return None
    return (f"{ns.compact(iri)} has no Biolink category: add a rule for it (or its ontology) to ontology/biolink.yaml, "
            "saying why")


def association(subject: str, predicate: str, obj: str | None, ns: Namespaces,
                files: tuple[Path, ...] = ONTOLOGY_FILES) -> str:
    """The most specific association class the table gives a claim; ``biolink:Association`` otherwise."""
    key = (category(subject, ns, files) or "", predicate, category(obj, ns, files) or "" if obj else "")
    return table(ns.base).associations.get(key, ASSOCIATION)


def category_quads(ns: Namespaces, files: tuple[Path, ...] = ONTOLOGY_FILES) -> Iterator[Quad]:
    """``term biolink:category C`` for every term of the ontology files that has a category, in the categories graph."""
    graph, predicate = NamedNode(ns.graph + "categories"), NamedNode(CATEGORY)
    for iri in sorted(index(ns.base, files)):
        if found := category(iri, ns, files):
            yield Quad(NamedNode(iri), predicate, NamedNode(found), graph)


def left_out(subject: str, predicate: str, obj: str | None, direction: Direction, ns: Namespaces) -> str | None:
    """Why a claim is not exchanged as a Biolink edge (KGX, TRAPI), or None when it is."""
    rules = table(ns.base)
    if direction.keyword in rules.left_out_directions:
        return rules.left_out_directions[direction.keyword]
    if predicate in rules.left_out_predicates:
        return rules.left_out_predicates[predicate]
    for iri in (subject, obj):
        prefix = ns.compact(iri).split(":", 1)[0] if iri else "value"
        if prefix in rules.left_out_prefixes:
            return rules.left_out_prefixes[prefix]
    return None


def knowledge_source_iri(curie: str, ns: Namespaces, files: tuple[Path, ...] = ONTOLOGY_FILES) -> str:
    """The IRI of a knowledge source: an ``infores:`` CURIE, a term minted in the ontology, or a ``source:`` document.

    ``ValueError`` says what is wrong.
    """
    try:
        iri = ns.expand(curie)
    except CurieError as exc:
        raise ValueError(str(exc)) from None
    if curie.startswith(("infores:", "source:")):
        return iri
    if not iri.startswith(ns.entity):
        raise ValueError(f"'{curie}' is not a knowledge source: give an infores CURIE of the Information Resource "
                         "Registry, a term minted in ontology/poems-kg.ttl where it has none, or source:<id>")
    if wrong := problem(iri, ns, None, files):
        raise ValueError(wrong)
    return iri
