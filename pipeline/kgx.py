"""KGX: the claims as Biolink nodes and edges in JSON Lines, a view of the same nanopublications.

Each edge is one current claim, its ``id`` the claim's nanopublication IRI (so anyone can fetch it and check its
Trusty URI). Direction survives the exchange the one way ``kg.biolink.left_out`` allows: a disputed claim only with
``negated: true``, a hypothesis with knowledge level ``prediction``, a claim of insufficient evidence never. What the
Biolink model has no slot for is kept in the documented ``poems_*`` properties (``EXTRA_PROPERTIES``).
"""

import json
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kg.biolink import left_out
from kg.direction import by_iri
from kg.namespaces import BIOLINK, Namespaces
from kg.queries import QUERY_DIR
from kg.store import KGStore, select_rows

EDGES_QUERY, LISTS_QUERY, NODES_QUERY = ((QUERY_DIR / f"{name}.rq").read_text(encoding="utf-8")
                                         for name in ("biolink-edges", "biolink-edge-lists", "biolink-nodes"))
FILES = ("nodes.jsonl", "edges.jsonl")
# The edge properties poems-kg adds, which no Biolink slot carries (README, "Biolink exchange").
EXTRA_PROPERTIES = {
    "poems_direction": "how the source stands towards the statement (SEPIO: supporting, disputing; or poems' own "
                       "hypothesis under investigation)",
    "poems_certainty": "established or consensus, for a claim the source supports or disputes",
    "poems_source": "the IRI of the source document or table the claim comes from",
    "poems_quote": "the exact text of the source (a table's whole row) the claim is curated from",
    "poems_quote_start": "the quote's start offset in the source text (characters; bytes for a table file)",
    "poems_quote_end": "the offset just after the quote",
    "poems_line": "a table row's line, as an RFC 5147 fragment (line=N-1,N is line N)",
}
LIST_SLOTS = {BIOLINK + "aggregator_knowledge_source": "aggregator_knowledge_source",
              BIOLINK + "publications": "publications", BIOLINK + "qualifiers": "qualifiers"}


@dataclass(frozen=True)
class Exported:
    """What an export wrote: the files, and how many edges and nodes; the claims left out, counted by reason."""

    paths: tuple[Path, ...]
    edges: int
    nodes: int
    left_out: dict[str, int]


def _narrowed(query: str, ns: Namespaces, subjects: Collection[str], objects: Collection[str]) -> str:
    """A query of the edges, its ``VALUES`` of subjects and of objects bound to these IRIs when there are any."""
    text = ns.rebase(query)
    for name, iris in (("subject", subjects), ("object", objects)):
        if iris:
            text = text.replace(f"VALUES ?{name} {{ UNDEF }}", f"VALUES ?{name} {{ {' '.join(f'<{i}>' for i in iris)} }}")
    return text


def edges(store: KGStore, ns: Namespaces, left: dict[str, int] | None = None, subjects: Collection[str] = (),
          objects: Collection[str] = ()) -> Iterator[dict[str, Any]]:
    """Every exchanged claim as a KGX edge; ``left`` counts those left out, by reason.

    ``subjects`` and ``objects`` (IRIs checked safe), when given, narrow the edges to theirs.
    """
    lists: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in select_rows(store.query(_narrowed(LISTS_QUERY, ns, subjects, objects))):
        lists[row["claim"]][LIST_SLOTS[row["slot"]]].append(ns.compact(row["value"]))
    for row in select_rows(store.query(_narrowed(EDGES_QUERY, ns, subjects, objects))):
        direction = by_iri(row["direction"], ns)
        reason = left_out(row["subject"], row["predicate"], None if row["literal"] == "true" else row["object"], direction, ns)
        if reason:
            if left is not None:
                left[reason] = left.get(reason, 0) + 1
            continue
        edge: dict[str, Any] = {
            "id": row["claim"], "subject": ns.compact(row["subject"]), "predicate": ns.compact(row["predicate"]),
            "object": ns.compact(row["object"]), "category": [ns.compact(row.get("class") or BIOLINK + "Association")],
            "negated": row["negated"] == "true", "knowledge_level": row["level"].removeprefix(BIOLINK),
            "agent_type": row["agent"].removeprefix(BIOLINK), "primary_knowledge_source": ns.compact(row["primary"]),
            "has_evidence": [ns.compact(row["evidence"])], **{k: sorted(v) for k, v in lists[row["claim"]].items()},
        }
        if frequency := row.get("frequency"):
            edge["frequency_qualifier"] = ns.compact(frequency)
        for slot, name in (("count", "has_count"), ("total", "has_total")):
            if row.get(slot):
                edge[name] = int(row[slot])
        if row.get("percentage"):
            edge["has_percentage"] = float(row["percentage"])
        if row.get("onset"):
            edge["onset_qualifier"] = ns.compact(row["onset"])
        edge.update({"poems_direction": ns.compact(row["direction"]), "poems_source": row["source"],
                     "poems_quote": row["quote"], "poems_quote_start": int(row["start"]), "poems_quote_end": int(row["end"])})
        if row.get("certainty"):
            edge["poems_certainty"] = row["certainty"].rsplit("certainty-", 1)[1]
        if row.get("line"):
            edge["poems_line"] = row["line"]
        yield edge


def nodes(store: KGStore, ns: Namespaces, named: set[str]) -> Iterator[dict[str, Any]]:
    """The KGX node of every term in ``named`` (CURIEs), with its Biolink category, label and definition."""
    seen: set[str] = set()
    for row in sorted(select_rows(store.query(ns.rebase(NODES_QUERY))), key=lambda r: r["term"]):
        curie = ns.compact(row["term"])
        if curie in named and curie not in seen:
            seen.add(curie)
            node = {"id": curie, "category": [ns.compact(row["category"])], "name": row.get("label") or curie}
            if row.get("definition"):
                node["description"] = row["definition"]
            yield node


def _write(handle: IO[str], record: dict[str, Any]) -> None:
    handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def export(store: KGStore, ns: Namespaces, folder: Path) -> Exported:
    """Write ``nodes.jsonl`` and ``edges.jsonl`` into ``folder``: the nodes are the terms the edges name.

    Edges are in the order of their IRIs and nodes of their CURIEs, so that the same claims give the same bytes.
    """
    folder.mkdir(parents=True, exist_ok=True)
    named: set[str] = set()
    left: dict[str, int] = {}
    count = 0
    with (folder / "edges.jsonl").open("w", encoding="utf-8") as out:
        for edge in edges(store, ns, left):
            named.update((edge["subject"], edge["object"]))
            _write(out, edge)
            count += 1
    written = 0
    with (folder / "nodes.jsonl").open("w", encoding="utf-8") as out:
        for node in nodes(store, ns, named):
            _write(out, node)
            written += 1
    return Exported(tuple(folder / name for name in FILES), count, written, left)
