"""Direction and certainty: how a source stands towards a statement, and how firmly it says so.

The one table of the four directions (what curated files and the JSON API write, the IRI the graph holds, what each
implies for ``biolink:negated``, the Biolink knowledge level and the direct triple, and the fixed words every page
and card frames it with), and the one rule about opposite directions (``kg/queries/opposing-claims.rq``): a source
that both supports and disputes a statement contradicts itself (a curation error); two sources that do are a
disagreement, kept and shown.
"""

from dataclasses import dataclass

from kg.namespaces import BIOLINK, DEFAULT_BASE_IRI, SEPIO, Namespaces
from kg.queries import QUERY_DIR
from kg.reads import record
from kg.sparql_text import without_lateral
from kg.store import KGStore, select_rows

OPPOSING_QUERY = (QUERY_DIR / "opposing-claims.rq").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Direction:
    """One direction of a source towards a statement."""

    keyword: str  # as curated files and the JSON API write it
    iri: str
    label: str
    negated: bool  # biolink:negated: only what the source disputes
    knowledge_level: str  # Biolink KnowledgeLevelEnum value of the statement
    takes_certainty: bool  # whether the source states it as established or as consensus
    lead: str  # the words before "subject predicate object" on pages
    framing: str  # the fixed framing of cards and API texts
    symbol: str  # shown with the label on pages, so that no page tells directions apart by colour alone


SUPPORTS = Direction("supports", SEPIO + "0000403", "supporting", False, BIOLINK + "knowledge_assertion", True,
                     "The source states that", "the source states this", "✓")
DISPUTES = Direction("disputes", SEPIO + "0000404", "disputing", True, BIOLINK + "knowledge_assertion", True,
                     "The source disputes that", "the source disputes this: it says it is not so", "✗")
INSUFFICIENT = Direction("insufficient_evidence", SEPIO + "0000405", "inconclusive", False, BIOLINK + "not_provided", False,
                         "The source states there is no definitive evidence that",
                         "the source says the evidence is insufficient: not established, and not denied", "?")
HYPOTHESIS = Direction("hypothesis", DEFAULT_BASE_IRI + "id/hypothesis-under-investigation", "hypothesis under investigation", False,
                       BIOLINK + "prediction", False, "The source presents as a hypothesis under investigation that",
                       "a hypothesis under investigation, not established", "◇")
DIRECTIONS = {d.keyword: d for d in (SUPPORTS, DISPUTES, INSUFFICIENT, HYPOTHESIS)}
CERTAINTIES = {"established": "stated as established", "consensus": "stated as the medical consensus"}
# Certainty values of releases before directions existed, and the direction each one meant.
FORMER_CERTAINTIES = {"hypothesis": HYPOTHESIS.keyword, "no_evidence": INSUFFICIENT.keyword}


def direction_iri(direction: Direction, ns: Namespaces) -> str:
    """The IRI of a direction in this deployment (the one poems-kg mints lives under its base IRI)."""
    return ns.rebase(direction.iri)


def by_iri(iri: str, ns: Namespaces) -> Direction:
    """The direction an IRI of the graph names."""
    return next(d for d in DIRECTIONS.values() if direction_iri(d, ns) == iri)


def certainty_keyword(iri: str | None) -> str | None:
    """``established`` or ``consensus`` from a certainty IRI (``poems:certainty-established``)."""
    return iri.rsplit("certainty-", 1)[-1] if iri else None


@dataclass(frozen=True)
class Opposition:
    """Two current claims on one statement: one supports it, the other disputes it."""

    subject: str
    predicate: str
    object: str
    supporting: str
    disputing: str
    supporting_source: str
    disputing_source: str
    supporting_quote: str | None
    disputing_quote: str | None

    @property
    def same_source(self) -> bool:
        """A source that contradicts itself: a curation error, not a disagreement."""
        return self.supporting_source == self.disputing_source


def opposing(store: KGStore, ns: Namespaces, focus: list[str] | None = None) -> list[Opposition]:
    """Every pair of current claims taking opposite directions on one statement (``focus``: about those entities)."""
    record(focus)
    text = ns.rebase(OPPOSING_QUERY) if store.lateral else without_lateral(ns.rebase(OPPOSING_QUERY))
    if focus is not None:
        text = text.replace("VALUES ?focus { UNDEF }", "VALUES ?focus { " + " ".join(f"<{iri}>" for iri in focus) + " }")
    return [Opposition(r["subject"], r["predicate"], r["object"], r["supporting"], r["disputing"],
                       r["supportingSource"], r["disputingSource"], r.get("supportingQuote"), r.get("disputingQuote"))
            for r in select_rows(store.query(text))]


def contradictions(store: KGStore, ns: Namespaces) -> list[Opposition]:
    """Current claims of one source that support and dispute the same statement."""
    return [o for o in opposing(store, ns) if o.same_source]
