"""What clinical integrations ask of the graph: entities by code, their codings, their claims, an etiology summary.

The JSON API, FHIR and CDS Hooks routers all call these functions; each answer is a pydantic model built from the
named queries in ``kg/named_queries``. Nothing here is specific to one condition: sections of the etiology summary are
chosen by direction and predicate, so a new source or claim changes the answers without a code change.
"""

import pickle
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from api.cache import AnswerStore, Kept, claim_parts
from kg.direction import DIRECTIONS, DISPUTES, HYPOTHESIS, INSUFFICIENT, SUPPORTS, by_iri, certainty_keyword, direction_iri, opposing
from kg.named_queries import run_query
from kg.namespaces import BIOLINK, SKOS, Namespaces
from kg.reads import EVERYTHING, READS, record
from kg.sentences import sentence
from kg.store import KGStore, boolean, select_rows

DirectionName = Literal["supports", "disputes", "insufficient_evidence", "hypothesis"]
CertaintyName = Literal["established", "consensus"]

EXACT = ("skos:exactMatch", "skos:closeMatch")  # matches that identify the same condition (a broader code does not)
CAUSAL = (BIOLINK + "causes", BIOLINK + "contributes_to")
ETIOLOGY_SECTIONS = ("mechanism", "inheritance", "etiology_status", "risk_factors", "features", "disputed", "hypotheses",
                     "insufficient_evidence")
EtiologySection = Literal["mechanism", "inheritance", "etiology_status", "risk_factors", "features", "disputed", "hypotheses",
                          "insufficient_evidence"]
HEAD_BYTES = 600  # a claim's head in a kept list, in memory (measured: ~530 bytes in a list of 7,360)
ETIOLOGY_LIMIT = 100  # claims listed in full in each section of a summary; the rest page by page (SECTION_PATH)
SECTION_PATH = "/api/v1/conditions/{curie}/etiology/{section}"


class Coding(BaseModel):
    """A FHIR-style coding, ready to copy into a FHIR ``Coding``."""

    system: str = Field(examples=["http://snomed.info/sct"])
    code: str = Field(examples=["79268002"])
    display: str | None = Field(None, examples=["POEMS syndrome"])


class MappedCoding(Coding):
    """A code of another system mapped to the entity, with how close it is and where the mapping was checked."""

    curie: str = Field(examples=["SCTID:79268002"])
    relationship: str = Field(description="SKOS match predicate from the entity to the code", examples=["skos:exactMatch"])
    checked_in: str | None = Field(None, description="URL of the source the mapping was checked in")


class EntityRef(BaseModel):
    """An entity of the graph: CURIE, IRI and label."""

    curie: str = Field(examples=["MONDO:0017364"])
    iri: str
    label: str | None = None


class Entity(EntityRef):
    """An entity with every code clinical systems may hold for it."""

    coding: Coding = Field(description="The entity's own code")
    codings: list[MappedCoding] = Field(description="Codes of other systems mapped to the entity")


class Match(BaseModel):
    """An entity a looked-up code is mapped from."""

    entity: EntityRef
    relationship: str = Field(description="SKOS match predicate from the entity to the looked-up code")


class ClaimOut(BaseModel):
    """One claim: the statement, the direction of its source towards it, how firmly, and the source's exact words."""

    iri: str = Field(description="The claim's nanopublication; dereference it for the full provenance")
    subject: EntityRef
    predicate: EntityRef
    object: EntityRef
    direction: DirectionName = Field(description="supports; disputes (the source says it is not so); "
                                                 "insufficient_evidence (not established, and not denied); hypothesis "
                                                 "(under investigation)")
    negated: bool = Field(description="True only when the source disputes the statement (biolink:negated)")
    certainty: CertaintyName | None = Field(None, description="How firmly the source supports or disputes it; none for "
                                                              "insufficient_evidence and hypothesis")
    frequency: str | None = Field(None, description="The source's own frequency words")
    frequency_term: EntityRef | None = Field(None, description="The HPO frequency term a table row gives (e.g. HP:0040281 "
                                                               "Very frequent)")
    count: int | None = Field(None, description="Of ``total`` patients, how many have it, as a table row gives it")
    total: int | None = None
    percentage: float | None = Field(None, description="How often it occurs, in percent, as a table row gives it")
    onset: EntityRef | None = Field(None, description="The HPO onset term a table row gives")
    evidence: EntityRef | None = Field(None, description="The ECO term of the kind of evidence the claim rests on")
    publication: str | None = Field(None, description="The reference a table row cites (CURIE)")
    sentence: str = Field(description="The claim in words: its direction's lead and the statement "
                                      "(e.g. 'The source disputes that POEMS syndrome has the mode of inheritance ...')")
    quote: str = Field(description="The source's exact words; for a table row, the row's verbatim text")
    line: int | None = Field(None, description="For a table row, its line in the source's file")
    source: str = Field(description="IRI of the source document")
    source_title: str | None = None
    start: int
    end: int
    about_etiology: bool = Field(False, exclude=True)  # the object is a state of knowledge of a cause


class Side(BaseModel):
    """One side of a disagreement: the claim, its source and its exact words."""

    claim: str
    source: str
    source_title: str | None = None
    quote: str | None = None


class Disagreement(BaseModel):
    """One statement that one source supports and another disputes; both are kept."""

    subject: EntityRef
    predicate: EntityRef
    object: EntityRef
    supporting: Side
    disputing: Side


class ClaimPage(BaseModel):
    """One page of claims."""

    total: int
    offset: int
    limit: int
    items: list[ClaimOut]


class Etiology(BaseModel):
    """What the sources say about the cause of a condition, one list of claims per question."""

    condition: EntityRef
    mechanism: list[ClaimOut] = Field(description="Supported causal claims: what causes the condition and what that leads to")
    inheritance: list[ClaimOut] = Field(description="Mode-of-inheritance claims, supported and disputed")
    etiology_status: list[ClaimOut] = Field(description="Supported attributes of the condition and its causes (e.g. idiopathic)")
    risk_factors: list[ClaimOut] = Field(description="Supported risk factors (associated with increased likelihood of it)")
    features: list[ClaimOut] = Field(description="Phenotypic features of the condition (biolink:has_phenotype) with their "
                                                 "frequencies, each with its source: present, or excluded (disputes)")
    disputed: list[ClaimOut] = Field(description="Other statements a source disputes (says are not so)")
    hypotheses: list[ClaimOut] = Field(description="Statements a source presents as hypotheses under investigation")
    insufficient_evidence: list[ClaimOut] = Field(description="Statements a source says the evidence is insufficient for: "
                                                              "not established, and not denied")
    no_evidence: list[ClaimOut] = Field(deprecated=True, description="Deprecated: the same list as insufficient_evidence")
    disagreements: list[Disagreement] = Field(description="Statements one source supports and another disputes")
    limit: int = Field(description="The most claims each section lists in full")
    totals: dict[str, int] = Field(description="How many claims each section has (a section lists at most `limit`)")
    more: dict[str, str] = Field(description="For each section with more claims than it lists: the path of its next page")


class UnknownEntityError(LookupError):
    """A well-formed identifier that names nothing in the graph."""


def ref(iri: str, label: str | None, ns: Namespaces) -> EntityRef:
    """An entity reference from an IRI and its label."""
    return EntityRef(curie=ns.compact(iri), iri=iri, label=label)


def _skos(iri: str) -> str:
    return "skos:" + iri.removeprefix(SKOS)


def lookup(store: KGStore, ns: Namespaces, iri: str) -> list[Match]:
    """The entities a code's IRI is mapped from (exact matches first)."""
    rows = select_rows(run_query(store, ns, "code-lookup", TARGET=iri))
    labels = {r["entity"]: r["label"] for r in (dict(row, label=_label(store, ns, row["entity"])) for row in rows)}
    matches = [Match(entity=ref(r["entity"], labels[r["entity"]], ns), relationship=_skos(r["predicate"])) for r in rows]
    return sorted(matches, key=lambda m: m.relationship not in EXACT)


def _label(store: KGStore, ns: Namespaces, iri: str) -> str | None:
    rows = select_rows(run_query(store, ns, "entity-codings", ENTITY=iri))
    return rows[0]["label"] if rows else None


def resolve(store: KGStore, ns: Namespaces, curie: str) -> str:
    """The IRI of the entity a CURIE names, directly or as an exact match of one of its codes.

    ``CurieError`` for a malformed CURIE, ``UnknownEntityError`` when it names nothing here.
    """
    iri = ns.expand(curie)
    if _label(store, ns, iri) is not None:
        return iri
    exact = [m for m in lookup(store, ns, iri) if m.relationship in EXACT]
    if not exact:
        raise UnknownEntityError(f"'{curie}' names no entity of poems-kg and is not an exact match of one")
    return exact[0].entity.iri


def entity(store: KGStore, ns: Namespaces, iri: str) -> Entity:
    """An entity with its own coding and every mapped code."""
    rows = select_rows(run_query(store, ns, "entity-codings", ENTITY=iri))
    if not rows:
        raise UnknownEntityError(f"'{ns.compact(iri)}' is not an entity of poems-kg")
    label = rows[0]["label"]
    curie = ns.compact(iri)
    system, code = ns.coding(curie)
    codings: dict[str, MappedCoding] = {}
    for r in rows:
        if r.get("target") and r["target"] not in codings:
            codings[r["target"]] = MappedCoding(
                system=r["scheme"], code=r["notation"], display=r.get("targetLabel"), curie=ns.compact(r["target"]),
                relationship=_skos(r["predicate"]), checked_in=r.get("source"))
    return Entity(curie=curie, iri=iri, label=label, coding=Coding(system=system, code=code, display=label),
                  codings=list(codings.values()))


@dataclass(frozen=True)
class Head:
    """What sorting, filtering and sectioning a claim needs: its statement with labels, direction and certainty."""

    iri: str
    subject: EntityRef
    predicate: EntityRef
    object: EntityRef
    direction: DirectionName
    negated: bool
    certainty: CertaintyName | None
    about_etiology: bool  # the object is a state of knowledge of a cause


def heads(store: KGStore, ns: Namespaces, iris: list[str], objects: list[str] | None = None,
          kept: AnswerStore | None = None) -> list[Head]:
    """The current claims about any of ``iris``, each once, by predicate, direction and labels.

    About: as subject or object; with ``objects``, as subject, or with an object of ``objects``. Claims that a newer
    claim supersedes are left out: the correction stands in their place. ``kept``: where the list is kept between
    answers until a write touches what it read (any of its entities, claims or terms), and each claim's head and
    each term's labels (``api.cache.claim_parts``), so that a write re-lists a hub from them; a list is built from the
    heads kept when most of its claims' are (by any list, or ``api.warm``).
    """
    objects = iris if objects is None else objects
    if not iris and not objects:
        return []
    if kept is None:
        return _heads(store, ns, iris, objects, None)
    key = ("heads", tuple(iris), tuple(objects))
    listed = kept.get(key)
    if listed is not None:
        record(list(listed.reads))  # what computing it would have read
        return list(listed.value)
    since, reads = kept.writes, set[str]()
    token = READS.set(reads)
    try:
        out = _heads(store, ns, iris, objects, kept)
    finally:
        READS.reset(token)
    record(list(reads))
    if EVERYTHING not in reads:
        kept.put(key, Kept(tuple(out), frozenset(reads)), HEAD_BYTES * len(out), since)
    return out


def _heads(store: KGStore, ns: Namespaces, iris: list[str], objects: list[str], kept: AnswerStore | None) -> list[Head]:
    """``heads``, computed from the claims' heads kept in ``kept`` and the store."""
    about = [] if kept is None else list(dict.fromkeys(r["claim"] for r in select_rows(run_query(
        store, ns, "claims-about", SUBJECT=iris, OBJECT=objects))))
    if kept is None or 2 * sum(1 for c in about if kept.get(("head", c)) is not None) < len(about):
        # mostly not kept: every head from the entities, in one query (looking thousands up by IRI costs more)
        by_claim = _grouped(select_rows(run_query(store, ns, "claim-heads", SUBJECT=iris, OBJECT=objects, CLAIM=[])), "claim")
        found = claim_parts(kept, "head", list(by_claim), lambda _: by_claim)
    else:  # the heads kept (whichever list kept them), and those of the claims written since looked up alone
        found = claim_parts(kept, "head", about, lambda missing: _grouped(select_rows(run_query(
            store, ns, "claim-heads", SUBJECT=[], OBJECT=[], CLAIM=missing)), "claim"))
    rows = [r for part in found.values() for r in pickle.loads(part)]
    rows = [r for r in rows if not boolean(r["superseded"])]
    terms = sorted({r[k] for r in rows for k in ("subject", "predicate", "object")})
    labels: dict[str, str] = {}
    etiology_status: set[str] = set()
    for r in _term_labels(store, ns, terms, kept):
        if "label" in r and r["label"] < labels.get(r["term"], "\U0010ffff"):
            labels[r["term"]] = r["label"]
        if boolean(r["etiologyStatus"]):
            etiology_status.add(r["term"])

    def label(term: str) -> tuple[bool, str]:  # sorts as in SPARQL's ORDER BY: a term without a label first
        return term in labels, labels.get(term, "")

    refs = {term: ref(term, labels.get(term), ns) for term in terms}
    out: dict[str, Head] = {}
    for r in sorted(rows, key=lambda r: (label(r["predicate"]), r["direction"], label(r["object"]), label(r["subject"]),
                                         r["claim"])):
        out.setdefault(r["claim"], Head(
            iri=r["claim"], subject=refs[r["subject"]], predicate=refs[r["predicate"]], object=refs[r["object"]],
            direction=by_iri(r["direction"], ns).keyword, negated=boolean(r["negated"]),  # type: ignore[arg-type]
            certainty=certainty_keyword(r.get("certainty")), about_etiology=r["object"] in etiology_status))  # type: ignore[arg-type]
    return list(out.values())


def _term_labels(store: KGStore, ns: Namespaces, terms: list[str], kept: AnswerStore | None) -> list[dict[str, str]]:
    """The rows of term-labels.rq for ``terms``, each term's kept in ``kept`` between answers.

    Labels change by admin writes only, which drop every part.
    """
    if not terms:
        return []
    found = claim_parts(kept, "labels", terms, lambda missing: _grouped(
        select_rows(run_query(store, ns, "term-labels", TERM=missing)), "term"))
    return [r for part in found.values() for r in pickle.loads(part)]


def _grouped(rows: list[dict[str, str]], by: str) -> dict[str, bytes]:
    """Query rows grouped by the value of ``by``, each group pickled (a part kept by ``api.cache.claim_parts``)."""
    groups: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        groups.setdefault(r[by], []).append(r)
    return {key: pickle.dumps(group) for key, group in groups.items()}


def details(store: KGStore, ns: Namespaces, iris: list[str], kept: AnswerStore | None = None) -> list[ClaimOut]:
    """The claims ``iris`` in full, in that order (current or superseded: whatever the IRIs name).

    ``kept``: where the details of each claim are kept between answers (``api.cache.claim_parts``).
    """
    found = claim_parts(kept, "details", iris, lambda missing: {
        claim.iri: pickle.dumps(claim) for claim in _details(store, ns, missing)})  # with its fields left out of JSON
    return [pickle.loads(found[i]) for i in iris if i in found]


def _details(store: KGStore, ns: Namespaces, iris: list[str]) -> list[ClaimOut]:
    """The claims ``iris`` in full, each once, as the store has them.

    A claim has several rows when a term it names has several labels: the least row is taken (by its values), so that
    every answer names it alike, whatever order the engine gives them.
    """
    chosen: dict[str, dict[str, str]] = {}
    for row in select_rows(run_query(store, ns, "claim-details", CLAIM=iris)) if iris else []:
        if row["claim"] not in chosen or sorted(row.items()) < sorted(chosen[row["claim"]].items()):
            chosen[row["claim"]] = row
    return [ClaimOut(
            iri=r["claim"], subject=ref(r["subject"], r.get("subjectLabel"), ns),
            predicate=ref(r["predicate"], r.get("predicateLabel"), ns), object=ref(r["object"], r.get("objectLabel"), ns),
            direction=by_iri(r["direction"], ns).keyword,  # type: ignore[arg-type]
            negated=boolean(r["negated"]), certainty=certainty_keyword(r.get("certainty")),  # type: ignore[arg-type]
            frequency=None if r.get("frequency", "").startswith("http") else r.get("frequency"),
            frequency_term=ref(r["frequency"], r.get("frequencyLabel"), ns) if "frequencyLabel" in r else None,
            count=int(r["count"]) if "count" in r else None, total=int(r["total"]) if "total" in r else None,
            percentage=float(r["percentage"]) if "percentage" in r else None,
            line=int(r["line"]) if "line" in r else None,
            onset=ref(r["onset"], r.get("onsetLabel"), ns) if "onset" in r else None,
            evidence=ref(r["evidence"], r.get("evidenceLabel"), ns) if "evidence" in r else None,
            publication=ns.compact(r["publication"]) if "publication" in r else None,
            sentence=sentence(by_iri(r["direction"], ns), r["predicate"], r.get("subjectLabel") or ns.compact(r["subject"]),
                              r.get("objectLabel") or ns.compact(r["object"]), ns, r.get("predicateLabel")),
            quote=r["quote"], source=r["source"], source_title=r.get("sourceTitle"),
            start=int(r["start"]), end=int(r["end"]), about_etiology=boolean(r["etiologyStatus"])) for r in chosen.values()]


def claims(store: KGStore, ns: Namespaces, iris: list[str], kept: AnswerStore | None = None) -> list[ClaimOut]:
    """Every current claim about any of ``iris`` (as subject or object), each once, in full (``kept``: as ``details``).

    In the order of ``heads``, claims of one statement as their sources read (by title, then where the quote starts).
    """
    def label(term: EntityRef) -> tuple[bool, str]:  # as in heads
        return term.label is not None, term.label or ""

    return sorted(details(store, ns, [h.iri for h in heads(store, ns, iris, kept=kept)], kept), key=lambda c: (
        label(c.predicate), direction_iri(DIRECTIONS[c.direction], ns), label(c.object), label(c.subject),
        (c.source_title is not None, c.source_title or ""), c.start))


def source_titles(store: KGStore, ns: Namespaces, sources: set[str]) -> dict[str, str]:
    """The title of each source document."""
    return {s: r["title"] for s in sources for r in select_rows(run_query(store, ns, "source-citation", SOURCE=s))}


def disagreements(store: KGStore, ns: Namespaces, focus: list[str] | None = None) -> list[Disagreement]:
    """Statements (about the ``focus`` entities, or any) that one source supports and another disputes."""
    found = [o for o in opposing(store, ns, focus) if not o.same_source]
    labels = {i: _label(store, ns, i) for o in found for i in (o.subject, o.predicate, o.object)}
    titles = source_titles(store, ns, {s for o in found for s in (o.supporting_source, o.disputing_source)})
    return [Disagreement(subject=ref(o.subject, labels[o.subject], ns), predicate=ref(o.predicate, labels[o.predicate], ns),
                         object=ref(o.object, labels[o.object], ns),
                         supporting=Side(claim=o.supporting, source=o.supporting_source, quote=o.supporting_quote,
                                         source_title=titles.get(o.supporting_source)),
                         disputing=Side(claim=o.disputing, source=o.disputing_source, quote=o.disputing_quote,
                                        source_title=titles.get(o.disputing_source))) for o in found]


def _about_etiology(store: KGStore, ns: Namespaces, iri: str, kept: AnswerStore | None) -> tuple[list[str], list[Head]]:
    """The entities a condition's etiology is about (it, its causes, what they lead to) and the claims about its etiology.

    Claims about what its causes lead to are about its etiology; other causes of those are not.
    """
    rows = select_rows(run_query(store, ns, "etiology-focus", ENTITY=iri))
    focus = {r["focus"] for r in rows}
    upstream = {r["focus"] for r in rows if int(r["upstream"]) == 1}
    return sorted(focus), heads(store, ns, sorted(focus), sorted(upstream), kept)


def _sections(claims: list[Head], condition: str) -> dict[str, list[Head]]:
    """The claims of each section of an etiology summary, in order."""
    out: dict[str, list[Head]] = {k: [] for k in (*ETIOLOGY_SECTIONS, "other")}
    for claim in claims:
        out[section(claim, condition)].append(claim)
    del out["other"]  # supported claims that answer none of the summary's questions (classification, ...)
    return out


def _opposed(claims: list[Head]) -> bool:
    """Whether a statement has both a claim supporting it and one disputing it: only then can sources disagree."""
    sides: dict[tuple[str, str, str], set[str]] = {}
    for c in claims:
        sides.setdefault((c.subject.iri, c.predicate.iri, c.object.iri), set()).add(c.direction)
    return any({SUPPORTS.keyword, DISPUTES.keyword} <= found for found in sides.values())


def etiology(store: KGStore, ns: Namespaces, iri: str, limit: int = ETIOLOGY_LIMIT,
             kept: AnswerStore | None = None) -> Etiology:
    """The etiology summary of a condition: each section's first ``limit`` claims in full, and how many it has.

    ``kept``: as ``details``.
    """
    condition = entity(store, ns, iri)
    focus, about = _about_etiology(store, ns, iri, kept)
    heads_of = _sections(about, iri)
    shown = {c.iri: c for c in details(store, ns, [h.iri for hs in heads_of.values() for h in hs[:limit]], kept)}
    sections = {k: [shown[h.iri] for h in hs[:limit] if h.iri in shown] for k, hs in heads_of.items()}
    curie = condition.curie
    found = disagreements(store, ns, focus) if _opposed(about) else []
    statements = {(h.subject.iri, h.predicate.iri, h.object.iri) for h in about}
    return Etiology(condition=EntityRef(curie=curie, iri=iri, label=condition.label), **sections,
                    no_evidence=sections["insufficient_evidence"], limit=limit,
                    totals={k: len(hs) for k, hs in heads_of.items()},
                    more={k: SECTION_PATH.format(curie=curie, section=k) + f"?offset={limit}&limit={limit}"
                          for k, hs in heads_of.items() if len(hs) > limit},
                    disagreements=[d for d in found if (d.subject.iri, d.predicate.iri, d.object.iri) in statements])


def etiology_section(store: KGStore, ns: Namespaces, iri: str, name: str, offset: int, limit: int,
                     kept: AnswerStore | None = None) -> ClaimPage:
    """One page of one section of a condition's etiology summary (``kept``: as ``details``)."""
    claims = _sections(_about_etiology(store, ns, iri, kept)[1], iri)[name]
    return ClaimPage(total=len(claims), offset=offset, limit=limit,
                     items=details(store, ns, [h.iri for h in claims[offset:offset + limit]], kept))


def section(claim: Head | ClaimOut, condition: str) -> str:
    """The question a claim about the condition answers (a section of its etiology summary and of its page).

    By direction first, then by predicate. What the condition itself causes or makes more likely is its consequence,
    not its etiology: no section.
    """
    predicate = claim.predicate.iri
    if claim.direction == HYPOTHESIS.keyword:
        return "hypotheses"
    if claim.direction == INSUFFICIENT.keyword:
        return "insufficient_evidence"
    if predicate == BIOLINK + "has_mode_of_inheritance" and claim.subject.iri == condition:
        return "inheritance"
    if predicate == BIOLINK + "has_phenotype" and claim.subject.iri == condition:
        return "features"
    if claim.direction != SUPPORTS.keyword:
        return "disputed"
    if predicate == BIOLINK + "has_attribute" and claim.about_etiology:
        return "etiology_status"
    if predicate in CAUSAL and claim.subject.iri != condition:
        return "mechanism"
    if predicate == BIOLINK + "associated_with_increased_likelihood_of" and claim.object.iri == condition:
        return "risk_factors"
    return "other"
