"""A TRAPI 1.5 knowledge provider over the claims exchanged as Biolink edges.

The edges are those of ``pipeline.kgx``, under the same rule of what is exchanged, so direction is kept the same way.

One-hop query graphs (two nodes, one edge), ``set_interpretation`` BATCH: a node is matched by its ids and by
categories (with their Biolink descendants), an edge by predicates (with their Biolink descendants). Each result edge
names its sources as TRAPI ``RetrievalSource`` objects (primary, then each aggregator with its upstream), and carries
the claim as attributes: knowledge level, agent type, negation, evidence, publications, direction, certainty, the
exact quote and its source, and the nanopublication IRI.
"""

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kg.namespaces import CurieError, Namespaces
from kg.store import KGStore
from ontology.slice import VOCABULARY_FILE
from pipeline import kgx

TRAPI_VERSION = "1.5.0"
MAX_IDS = 1000  # ids on one query node
# Edge properties given as TRAPI attributes: (KGX property, attribute type, original name); Biolink slots where one
# exists, the poems_* properties of the KGX export (pipeline.kgx.EXTRA_PROPERTIES) under their own names otherwise.
ATTRIBUTES = (("knowledge_level", "biolink:knowledge_level", None), ("agent_type", "biolink:agent_type", None),
              ("negated", "biolink:negated", None), ("has_evidence", "biolink:has_evidence", None),
              ("publications", "biolink:publications", None), ("has_count", "biolink:has_count", None),
              ("has_total", "biolink:has_total", None), ("has_percentage", "biolink:has_percentage", None),
              ("id", "biolink:id", "nanopublication"), ("poems_direction", "biolink:Attribute", "poems_direction"),
              ("poems_certainty", "biolink:Attribute", "poems_certainty"), ("poems_source", "biolink:Attribute", "poems_source"),
              ("poems_quote", "biolink:Attribute", "poems_quote"), ("poems_line", "biolink:Attribute", "poems_line"))
QUALIFIERS = (("frequency_qualifier", "biolink:frequency_qualifier"), ("onset_qualifier", "biolink:onset_qualifier"))


class QueryGraphError(ValueError):
    """A query graph this provider cannot answer, with the reason (an HTTP 400)."""


class TooManyResultsError(ValueError):
    """An answer with more results than the limit (an HTTP 413)."""


@dataclass(frozen=True)
class Vocabulary:
    """Biolink's classes and predicates with their ``is_a`` parents (``ontology/imports/biolink_vocabulary.tsv``)."""

    version: str  # of the biolink-model release the file was read from
    parents: dict[str, str]
    kinds: dict[str, str]

    def under(self, curie: str, ancestor: str) -> bool:
        """Whether ``curie`` is ``ancestor`` or descends from it."""
        while curie:
            if curie == ancestor:
                return True
            curie = self.parents.get(curie, "")
        return False


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The Biolink vocabulary of the pinned release."""
    lines = VOCABULARY_FILE.read_text(encoding="utf-8").splitlines()
    rows = list(csv.DictReader((line for line in lines if not line.startswith("#")), delimiter="\t"))
    version = lines[0].split("biolink-model ", 1)[1].split(":", 1)[0]
    return Vocabulary(version, {r["curie"]: r["parent"] for r in rows}, {r["curie"]: r["kind"] for r in rows})


@dataclass(frozen=True)
class QNode:
    """One node of the query graph: its ids (IRIs) and categories."""

    key: str
    ids: tuple[str, ...]
    categories: tuple[str, ...]


def _names(value: Any, where: str, kind: str) -> tuple[str, ...]:
    """A list of Biolink names of ``kind`` (class or predicate), each checked in the vocabulary."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise QueryGraphError(f"{where} must be a list of Biolink {kind} CURIEs")
    unknown = [v for v in value if vocabulary().kinds.get(v) != kind]
    if unknown:
        raise QueryGraphError(f"{where}: {', '.join(unknown)} is not a Biolink {kind} (Biolink Model {vocabulary().version})")
    return tuple(value)


def _node(key: str, spec: Any, ns: Namespaces) -> QNode:
    if not isinstance(spec, dict):
        raise QueryGraphError(f"query_graph.nodes.{key} must be an object")
    for name in ("constraints",):
        if spec.get(name):
            raise QueryGraphError(f"query_graph.nodes.{key}.{name}: node constraints are not supported")
    if spec.get("set_interpretation", "BATCH") != "BATCH":
        raise QueryGraphError(f"query_graph.nodes.{key}.set_interpretation: only BATCH is supported")
    ids = spec.get("ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise QueryGraphError(f"query_graph.nodes.{key}.ids must be a list of CURIEs")
    if len(ids) > MAX_IDS:
        raise QueryGraphError(f"query_graph.nodes.{key}.ids: {len(ids)} ids, more than the limit of {MAX_IDS}")
    iris = []
    for curie in ids:
        try:
            iris.append(ns.expand(curie))
        except CurieError as exc:
            raise QueryGraphError(f"query_graph.nodes.{key}.ids: {exc}") from None
    return QNode(key, tuple(iris), _names(spec.get("categories"), f"query_graph.nodes.{key}.categories", "class"))


def parse(message: Any, ns: Namespaces) -> tuple[QNode, tuple[str, ...], QNode, str]:
    """The one-hop query graph of a TRAPI query: subject node, predicates, object node, and the edge's key."""
    inner = message.get("message") if isinstance(message, dict) else None
    graph = inner.get("query_graph") if isinstance(inner, dict) else None
    if not isinstance(graph, dict):
        raise QueryGraphError("the query has no message.query_graph")
    nodes, edges = graph.get("nodes"), graph.get("edges")
    if not isinstance(nodes, dict) or not isinstance(edges, dict) or len(nodes) != 2 or len(edges) != 1:
        raise QueryGraphError("only one-hop query graphs are supported: two nodes and one edge")
    (key, edge), = edges.items()
    if not isinstance(edge, dict) or edge.get("subject") not in nodes or edge.get("object") not in nodes \
            or edge["subject"] == edge["object"]:
        raise QueryGraphError(f"query_graph.edges.{key}: subject and object must name the two query nodes")
    for name in ("attribute_constraints", "qualifier_constraints"):
        if edge.get(name):
            raise QueryGraphError(f"query_graph.edges.{key}.{name}: constraints are not supported")
    if edge.get("knowledge_type", "lookup") != "lookup":
        raise QueryGraphError(f"query_graph.edges.{key}.knowledge_type: only lookup is supported")
    predicates = _names(edge.get("predicates"), f"query_graph.edges.{key}.predicates", "predicate")
    return _node(edge["subject"], nodes[edge["subject"]], ns), predicates, _node(edge["object"], nodes[edge["object"]], ns), key


def _matches(categories: Iterable[str], wanted: tuple[str, ...]) -> bool:
    return not wanted or any(vocabulary().under(c, w) for c in categories for w in wanted)


def _trapi_edge(edge: dict[str, Any], provider: str) -> dict[str, Any]:
    """A KGX edge as a TRAPI edge: sources with their upstream, attributes, qualifiers."""
    sources = [{"resource_id": edge["primary_knowledge_source"], "resource_role": "primary_knowledge_source"}]
    for aggregator in [*edge.get("aggregator_knowledge_source", []), provider]:
        sources.append({"resource_id": aggregator, "resource_role": "aggregator_knowledge_source",
                        "upstream_resource_ids": [sources[-1]["resource_id"]]})
    attributes = []
    for name, type_id, original in ATTRIBUTES:
        if name in edge:
            attribute = {"attribute_type_id": type_id, "value": edge[name]}
            if original:
                attribute["original_attribute_name"] = original
            attributes.append(attribute)
    qualifiers = [{"qualifier_type_id": type_id, "qualifier_value": edge[name]} for name, type_id in QUALIFIERS
                  if name in edge and ":" in str(edge[name])]
    if "frequency_qualifier" in edge and ":" not in edge["frequency_qualifier"]:  # the source's own words
        attributes.append({"attribute_type_id": "biolink:Attribute", "original_attribute_name": "frequency",
                           "value": edge["frequency_qualifier"]})
    out = {"subject": edge["subject"], "predicate": edge["predicate"], "object": edge["object"], "sources": sources,
           "attributes": attributes}
    if qualifiers:
        out["qualifiers"] = qualifiers
    return out


def answer(store: KGStore, ns: Namespaces, query: Any, provider: str, max_results: int) -> dict[str, Any]:
    """The TRAPI response to a one-hop query: the matching edges, their nodes, one result per edge."""
    subject, predicates, obj, edge_key = parse(query, ns)
    found = [e for e in kgx.edges(store, ns, subjects=subject.ids, objects=obj.ids)
             if not predicates or any(vocabulary().under(e["predicate"], p) for p in predicates)]
    nodes = {n["id"]: n for n in kgx.nodes(store, ns, {t for e in found for t in (e["subject"], e["object"])})}
    found = [e for e in found if _matches(nodes[e["subject"]]["category"], subject.categories)
             and _matches(nodes[e["object"]]["category"], obj.categories)]
    if len(found) > max_results:
        raise TooManyResultsError(f"{len(found)} results, more than the limit of {max_results}: give ids or narrower "
                             "categories or predicates")
    named = {t for e in found for t in (e["subject"], e["object"])}
    knowledge_graph = {
        "nodes": {curie: {"categories": n["category"], "name": n["name"], "attributes": []}
                  for curie, n in nodes.items() if curie in named},
        "edges": {e["id"]: _trapi_edge(e, provider) for e in found},
    }
    results = [{"node_bindings": {subject.key: [{"id": e["subject"], "attributes": []}],
                                  obj.key: [{"id": e["object"], "attributes": []}]},
                "analyses": [{"resource_id": provider, "edge_bindings": {edge_key: [{"id": e["id"], "attributes": []}]}}]}
               for e in found]
    return {"message": {"query_graph": query["message"]["query_graph"], "knowledge_graph": knowledge_graph,
                        "results": results},
            "schema_version": TRAPI_VERSION, "biolink_version": vocabulary().version, "status": "Success", "logs": []}


def meta_knowledge_graph(store: KGStore, ns: Namespaces) -> dict[str, Any]:
    """What the provider answers: its nodes' categories with their id prefixes, its edges' (category, predicate, category)."""
    found = list(kgx.edges(store, ns))
    nodes = {n["id"]: n for n in kgx.nodes(store, ns, {t for e in found for t in (e["subject"], e["object"])})}
    prefixes: dict[str, set[str]] = {}
    for curie, node in nodes.items():
        for category in node["category"]:
            prefixes.setdefault(category, set()).add(curie.split(":", 1)[0])
    triples = sorted({(c, e["predicate"], o) for e in found for c in nodes[e["subject"]]["category"]
                      for o in nodes[e["object"]]["category"]})
    return {"nodes": {c: {"id_prefixes": sorted(p)} for c, p in sorted(prefixes.items())},
            "edges": [{"subject": s, "predicate": p, "object": o, "knowledge_types": ["lookup"]} for s, p, o in triples]}
