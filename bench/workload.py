"""Synthetic workloads: N claims in the same nanopublication shape as the curated ones."""

import datetime as dt
import hashlib
import zlib
from collections.abc import Iterator
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad

from kg.compile import compile_dataset
from kg.direction import DIRECTIONS
from kg.model import Claim, Source
from kg.namespaces import BIOLINK, RDFS, Namespaces
from pipeline.build import ontology_quads

PREDICATES = ("causes", "contributes_to", "has_mode_of_inheritance", "associated_with", "subclass_of")


def _uniform(key: str) -> float:
    """A number in [0, 1) fixed by ``key`` (the workload is the same on every run)."""
    return zlib.crc32(key.encode()) / 2**32


def shape(n_claims: int) -> tuple[int, int]:
    """How many causes and conditions a workload of ``n_claims`` has: many entities, as curated graphs have."""
    return max(10, n_claims // 20), max(10, n_claims // 10)


def cause_of(i: int, n_claims: int) -> int:
    """The cause of claim ``i``: a heavy head (cause 0 has about 6% of all claims) and a long tail of a few each."""
    return int(shape(n_claims)[0] * _uniform(f"cause {i}") ** 3)


def condition_of(i: int, n_claims: int) -> int:
    """The condition of claim ``i``: condition 0 has about 1% of all claims, most conditions a handful."""
    return int(shape(n_claims)[1] * _uniform(f"condition {i}") ** 2)


def synthetic(n_claims: int, ns: Namespaces) -> tuple[dict[str, Source], list[Claim]]:
    """A source whose text holds one sentence per claim, and ``n_claims`` claims quoting them.

    Causes are subjects, conditions objects, each drawn with a heavy head: a few hubs with thousands of claims and
    many entities with a handful (``cause_of``, ``condition_of``).
    """
    sentences = [f"Synthetic statement {i} links cause {cause_of(i, n_claims)} to condition {condition_of(i, n_claims)}."
                 for i in range(n_claims)]
    text = " ".join(sentences)
    source = Source(id="synthetic", text=text, title="Synthetic workload", publisher="poems-kg bench",
                    knowledge_source=ns.source + "synthetic",
                    document_types=("Synthetic",), review_status="Not reviewed", modified=dt.date(2026, 1, 1),
                    sha256=hashlib.sha256(text.encode()).hexdigest(), language="en", out_of_scope=(),
                    metadata_file=Path("synthetic/metadata.yaml"))
    claims, offset = [], 0
    for i, sentence in enumerate(sentences):
        predicate = PREDICATES[i % len(PREDICATES)]
        cause = cause_of(i, n_claims)
        # "causes" claims also link an even-numbered cause to the next cause, so that causal paths have two hops
        # (cause 2k -> cause 2k+1 -> condition), as the seed's (dyscrasia -> VEGF -> its effects)
        linked = predicate == "causes" and i % 2 and cause % 2 == 0
        obj = f"synthetic-cause-{cause + 1}" if linked else f"synthetic-condition-{condition_of(i, n_claims)}"
        # one source: a statement is disputed by all its claims or by none of them (no contradictions)
        disputed = zlib.crc32(f"{cause} {predicate} {obj}".encode()) % 7 == 0
        direction = "disputes" if disputed else ("supports", "supports", "insufficient_evidence", "hypothesis")[i % 4]
        claims.append(Claim(
            key=f"synthetic-{i}", source="synthetic", subject=f"{ns.entity}synthetic-cause-{cause}",
            predicate=BIOLINK + predicate, object=ns.entity + obj, value=None,
            direction=direction, certainty="established" if DIRECTIONS[direction].takes_certainty else None,
            frequency="often" if i % 11 == 0 else None,
            evidence="http://purl.obolibrary.org/obo/ECO_0000303", quote=sentence, start=offset, note="synthetic",
            supersedes=None, created=dt.date(2026, 1, 1), creator=ns.entity + "curation-team",
            file=Path("synthetic.yaml"), line=i + 1, association=BIOLINK + "Association", primary_source=source.knowledge_source))
        offset += len(sentence) + 1
    return {"synthetic": source}, claims


def entity_labels(claims: list[Claim], ns: Namespaces) -> Iterator[Quad]:
    """An ``rdfs:label`` in the ontology graph for every synthetic entity, as curated entities have."""
    graph = NamedNode(ns.graph + "ontology")
    for iri in sorted({c.subject for c in claims} | {c.object for c in claims if c.object}):
        yield Quad(NamedNode(iri), NamedNode(RDFS + "label"), Literal(iri.rsplit("/", 1)[1].replace("-", " ")), graph)


def synthetic_quads(n_claims: int, ns: Namespaces) -> list[Quad]:
    """The compiled dataset of a synthetic workload, ontology and entity labels included."""
    sources, claims = synthetic(n_claims, ns)
    return compile_dataset(sources, claims, ns, [*ontology_quads(ns), *entity_labels(claims, ns)]).quads
