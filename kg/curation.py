"""Reading curated files: sources (text + metadata) and claims, with file and line for every error."""

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from kg.biolink import association, uncategorized
from kg.direction import CERTAINTIES, DIRECTIONS, DISPUTES, FORMER_CERTAINTIES, SUPPORTS, Direction
from kg.namespaces import CurieError, Namespaces
from ontology import ONTOLOGY_FILES, ontology_files
from ontology.terms import problem

LOG = logging.getLogger("poems_kg")
CLAIM_DEFAULTS = {"evidence": "ECO:0000303"}
CLAIM_FIELDS = {
    "key", "subject", "subject_label", "predicate", "object", "object_label", "value", "direction", "negated",
    "certainty", "frequency", "evidence", "quote", "occurrence", "note", "supersedes",
}

REQUIRED_CLAIM_FIELDS = ("key", "subject", "predicate", "quote", "note")
SOURCE_FIELDS = ("id", "title", "publisher", "knowledge_source", "document_types", "review_status", "modified", "sha256")


@dataclass
class CurationError(Exception):
    """A problem in a curated file, located by file and line."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Source:
    """A source document: its verbatim text and metadata."""

    id: str
    text: str
    title: str
    publisher: str
    knowledge_source: str  # the Biolink primary knowledge source of its claims (IRI)
    document_types: tuple[str, ...]
    review_status: str
    modified: dt.date
    sha256: str
    language: str
    out_of_scope: tuple[tuple[str, str], ...]
    metadata_file: Path


@dataclass(frozen=True)
class TableSource:
    """A published table: where its file is, which release, under which licence, and which of its rows are claims."""

    id: str
    title: str
    publisher: str
    release: dt.date
    file: Path
    file_name: str  # as the metadata names it: package and path
    sha256: str
    download_url: str
    license: str
    rights: str
    disease_prefixes: Mapping[str, str]
    primary_sources: Mapping[str, str]  # the disease column's prefix -> the row's primary knowledge source (IRI)
    aggregators: tuple[str, ...]  # aggregator knowledge sources of every row (IRIs)
    diseases: frozenset[str] | None  # None: every disease
    aspects: frozenset[str]
    skip_bad_rows: bool
    created: dt.date
    creator: str
    metadata_file: Path


@dataclass(frozen=True)
class Row:
    """What a claim from a table row states beyond subject, predicate and object (IRIs; ``None``: not given)."""

    automated: bool  # the row's evidence is an automatic assertion
    publications: tuple[str, ...]
    frequency: str | None  # an HPO frequency term
    count: int | None  # "n/m" in the frequency column
    total: int | None
    percentage: float | None  # "n%" in the frequency column
    onset: str | None
    modifiers: tuple[str, ...]
    license: str  # the table's licence, which its rows keep


@dataclass(frozen=True)
class Claim:
    """One claim, with IRIs expanded: a curated claim quoting a text, or a row of a table (``row``).

    For a row, ``quote`` is the row's verbatim text, ``start`` its offset in the file, ``file`` and ``line`` its place.
    """

    key: str
    source: str
    subject: str
    predicate: str
    object: str | None
    value: Any
    direction: str
    certainty: str | None
    frequency: str | None
    evidence: str
    quote: str
    start: int
    note: str
    supersedes: str | None
    created: dt.date
    creator: str
    file: Path
    line: int
    association: str  # its Biolink association class (kg.biolink.association)
    primary_source: str  # biolink:primary_knowledge_source (IRI)
    aggregators: tuple[str, ...] = ()  # biolink:aggregator_knowledge_source, in order (IRIs)
    row: Row | None = None

    @property
    def end(self) -> int:
        """Offset just after the quote in the source text."""
        return self.start + len(self.quote)

    @property
    def negated(self) -> bool:
        """``biolink:negated``: true only when the source disputes the statement."""
        return DIRECTIONS[self.direction].negated

    @property
    def asserted(self) -> bool:
        """Whether the direct triple is stated: only for what the source supports (as established or consensus)."""
        return self.direction == SUPPORTS.keyword


def _yaml_load(path: Path) -> Any:
    try:
        return YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CurationError(path, (mark.line + 1) if mark else 1, f"invalid YAML: {exc}") from None


def _line(node: Any, key: str | None = None) -> int:
    if isinstance(node, CommentedMap):
        if key is not None and key in node:
            return node.lc.key(key)[0] + 1
        return node.lc.line + 1
    return 1


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


def load_source(directory: Path, ns: Namespaces, files: tuple[Path, ...] = ONTOLOGY_FILES) -> Source:
    """Read ``<directory>/text.txt`` and ``metadata.yaml``, checking the sha256 and the knowledge source."""
    meta_file = directory / "metadata.yaml"
    text_file = directory / "text.txt"
    if not meta_file.exists() or not text_file.exists():
        raise CurationError(directory, 1, "a source folder needs text.txt and metadata.yaml")
    meta = _yaml_load(meta_file)
    if not isinstance(meta, CommentedMap):
        raise CurationError(meta_file, 1, "metadata must be a mapping")
    for name in SOURCE_FIELDS:
        if name not in meta:
            raise CurationError(meta_file, _line(meta), f"missing field '{name}'")
    raw = text_file.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != meta["sha256"]:
        raise CurationError(meta_file, _line(meta, "sha256"),
                            f"sha256 {meta['sha256']} does not match text.txt ({digest}); "
                            "the text must stay verbatim, or update the hash if the source changed")
    if meta["id"] != directory.name:
        raise CurationError(meta_file, _line(meta, "id"), f"id '{meta['id']}' must equal the folder name '{directory.name}'")
    modified = meta["modified"]
    if not isinstance(modified, dt.date):
        raise CurationError(meta_file, _line(meta, "modified"), "modified must be a date (YYYY-MM-DD)")
    text = raw.decode("utf-8")
    try:
        knowledge_source = knowledge_source_iri(str(meta["knowledge_source"]), ns, files)
    except ValueError as exc:
        raise CurationError(meta_file, _line(meta, "knowledge_source"), f"knowledge_source: {exc}") from None
    out_of_scope = tuple((str(item["quote"]), str(item["reason"])) for item in meta.get("out_of_scope") or [])
    for quote, _ in out_of_scope:
        if quote not in text:
            raise CurationError(meta_file, _line(meta, "out_of_scope"), f"out-of-scope quote not in the text: '{quote[:60]}'")
    return Source(
        id=str(meta["id"]), text=text, title=str(meta["title"]), publisher=str(meta["publisher"]),
        knowledge_source=knowledge_source,
        document_types=tuple(str(t) for t in meta["document_types"]), review_status=str(meta["review_status"]),
        modified=modified, sha256=digest, language=str(meta.get("language", "en")),
        out_of_scope=out_of_scope, metadata_file=meta_file,
    )


def _locate(text: str, quote: str, occurrence: int) -> int:
    start = -1
    for _ in range(occurrence):
        start = text.find(quote, start + 1)
        if start < 0:
            return -1
    return start


def parse_claim(entry: Mapping[str, Any], source: Source, ns: Namespaces, *, defaults: Mapping[str, Any], created: dt.date,
                creator: str, path: Path, line_of: Callable[[str | None], int],
                files: tuple[Path, ...] = ONTOLOGY_FILES) -> Claim:
    """One claim from its fields (a curated file's entry or a write request), quote located in ``source``.

    ``line_of(field)`` gives the line of a field (``None``: of the entry) for the ``CurationError`` it may raise.
    """
    line = line_of(None)
    unknown = set(entry) - CLAIM_FIELDS
    if unknown:
        raise CurationError(path, line, f"unknown field(s) {sorted(unknown)}; allowed: {sorted(CLAIM_FIELDS)}")
    item = {**CLAIM_DEFAULTS, **defaults, **entry}
    for name in REQUIRED_CLAIM_FIELDS:
        if item.get(name) in (None, ""):
            raise CurationError(path, line, f"claim is missing required field '{name}'")
    key = str(item["key"])
    if ("object" in item) == ("value" in item):
        raise CurationError(path, line, f"claim '{key}' needs exactly one of 'object' (a CURIE) or 'value' (a literal)")

    def iri(name: str) -> str:
        """The IRI of a field's CURIE, which must name a current term of the ontology or its import slice."""
        try:
            expanded = ns.expand(str(item[name]))
        except CurieError as exc:
            raise CurationError(path, line_of(name), f"{name}: {exc}") from None
        if expanded.startswith(ns.source):  # a source document: checked as a source, not as a term
            return expanded
        if wrong := problem(expanded, ns, None, files):
            raise CurationError(path, line_of(name), f"{name}: {wrong}")
        if name in ("subject", "object") and (wrong := uncategorized(expanded, ns, files)):
            raise CurationError(path, line_of(name), f"{name}: {wrong}")
        label = item.get(f"{name}_label")
        if label is not None and (wrong := problem(expanded, ns, str(label), files)):
            raise CurationError(path, line_of(f"{name}_label"), f"{name}_label: {wrong}")
        return expanded

    direction = _direction(item, path, line_of)
    certainty = _certainty(item, direction, path, line_of)
    quote = str(item["quote"])
    occurrence = item.get("occurrence", 1)
    if not isinstance(occurrence, int) or occurrence < 1:
        raise CurationError(path, line_of("occurrence"), "occurrence must be a whole number from 1")
    start = _locate(source.text, quote, occurrence)
    if start < 0:
        raise CurationError(path, line_of("quote"),
                            f"quote of claim '{key}' does not occur in source '{source.id}' "
                            f"(occurrence {occurrence}); copy it exactly from text.txt")
    value = item.get("value")
    subject, predicate, obj = iri("subject"), iri("predicate"), iri("object") if "object" in item else None
    return Claim(
        key=key, source=source.id, subject=subject, predicate=predicate, object=obj,
        value=value.isoformat() if isinstance(value, dt.date) else value,
        direction=direction.keyword, certainty=certainty,
        frequency=str(item["frequency"]) if item.get("frequency") is not None else None,
        evidence=iri("evidence"), quote=quote, start=start, note=str(item["note"]),
        supersedes=str(item["supersedes"]) if item.get("supersedes") else None,
        created=created, creator=creator, file=path, line=line,
        association=association(subject, predicate, obj, ns, files), primary_source=source.knowledge_source,
    )


def _direction(item: Mapping[str, Any], path: Path, line_of: Callable[[str | None], int]) -> Direction:
    """The claim's direction; ``negated`` (true: disputes) may say the same, never the opposite."""
    negated = item.get("negated")
    if negated is not None and not isinstance(negated, bool):
        raise CurationError(path, line_of("negated"), "negated must be true or false")
    if "direction" not in item:
        return DISPUTES if negated else SUPPORTS
    keyword = item["direction"]
    if keyword not in DIRECTIONS:
        raise CurationError(path, line_of("direction"),
                            f"direction '{keyword}' must be one of {', '.join(DIRECTIONS)}")
    direction = DIRECTIONS[keyword]
    if negated is not None and negated != direction.negated:
        raise CurationError(path, line_of("negated"),
                            f"negated: {str(negated).lower()} conflicts with direction '{keyword}' (negated is true for "
                            "'disputes' only: absence of evidence is not a denial); give one of them")
    return direction


def _certainty(item: Mapping[str, Any], direction: Direction, path: Path,
               line_of: Callable[[str | None], int]) -> str | None:
    """How firmly the source states a claim it supports or disputes (default: established); none for the others."""
    certainty = item.get("certainty")
    if certainty in FORMER_CERTAINTIES:
        raise CurationError(path, line_of("certainty"), f"certainty '{certainty}' is a direction: write "
                            f"direction: {FORMER_CERTAINTIES[certainty]} (certainty is one of {', '.join(CERTAINTIES)})")
    if certainty is not None and certainty not in CERTAINTIES:
        raise CurationError(path, line_of("certainty"), f"certainty '{certainty}' must be one of {', '.join(CERTAINTIES)}")
    if not direction.takes_certainty:
        if certainty is not None:
            raise CurationError(path, line_of("certainty"), f"a claim of direction '{direction.keyword}' has no certainty: "
                                "certainty says how firmly a source supports or disputes a statement")
        return None
    return str(certainty or "established")


def load_claims(path: Path, sources: dict[str, Source], ns: Namespaces, files: tuple[Path, ...] = ONTOLOGY_FILES) -> list[Claim]:
    """Read one claims file, expanding CURIEs and locating each quote in its source."""
    doc = _yaml_load(path)
    if not isinstance(doc, CommentedMap) or "claims" not in doc or "source" not in doc:
        raise CurationError(path, 1, "a claims file is a mapping with 'source' and 'claims'")
    for name in ("created", "creator"):
        if name not in doc:
            raise CurationError(path, 1, f"claims file is missing header field '{name}'")
    if not isinstance(doc["created"], dt.date):
        raise CurationError(path, _line(doc, "created"), "created must be a date (YYYY-MM-DD)")
    try:
        creator = ns.expand(str(doc["creator"]))
    except CurieError as exc:
        raise CurationError(path, _line(doc, "creator"), f"creator: {exc}") from None
    source_id = str(doc["source"])
    if source_id not in sources:
        raise CurationError(path, _line(doc, "source"), f"unknown source '{source_id}' (known: {', '.join(sorted(sources))})")
    source = sources[source_id]
    defaults = dict(doc.get("defaults") or {})
    claims: list[Claim] = []
    for entry in doc["claims"]:
        if not isinstance(entry, CommentedMap):
            raise CurationError(path, _line(entry), "each claim must be a mapping")
        claims.append(parse_claim(entry, source, ns, defaults=defaults, created=doc["created"], creator=creator,
                                  path=path, line_of=partial(_line, entry), files=files))
    return claims


def load_sources(kg_dir: Path, ns: Namespaces) -> tuple[dict[str, Source], dict[str, TableSource]]:
    """The text sources and the table sources under ``kg_dir/sources``."""
    from kg.tables import load_table_source  # tables build on this module

    sources: dict[str, Source] = {}
    tables: dict[str, TableSource] = {}
    for directory in sorted(d for d in (kg_dir / "sources").iterdir() if d.is_dir()):
        meta_file = directory / "metadata.yaml"
        meta = _yaml_load(meta_file) if meta_file.exists() else None
        if isinstance(meta, CommentedMap) and meta.get("kind") == "table":
            if meta.get("id") != directory.name:
                raise CurationError(meta_file, _line(meta, "id"), f"id '{meta.get('id')}' must equal the folder name '{directory.name}'")
            tables[directory.name] = load_table_source(meta, meta_file, ns, partial(_line, meta))
        else:
            sources[directory.name] = load_source(directory, ns, ontology_files(kg_dir))
    return sources, tables


def load_all(kg_dir: Path, ns: Namespaces) -> tuple[dict[str, Source | TableSource], list[Claim]]:
    """Load every source under ``kg_dir/sources`` and every claims file under ``kg_dir/claims``.

    Checks across files: claim keys are unique, no two claims are identical, and
    every ``supersedes`` names a known claim.
    """
    from kg.tables import table_claims  # tables build on this module

    sources, tables = load_sources(kg_dir, ns)
    claims: list[Claim] = []
    for path in sorted((kg_dir / "claims").glob("*.yaml")):
        claims.extend(load_claims(path, sources, ns, ontology_files(kg_dir)))
    for table in tables.values():
        rows = table_claims(table, kg_dir, ns)
        claims.extend(rows.claims)
        for skipped in rows.skipped:  # bad_rows: skip in the source's metadata
            LOG.warning("skipped: %s", skipped)
    seen_keys: dict[str, Claim] = {}
    seen_content: dict[tuple[Any, ...], Claim] = {}
    for claim in claims:
        if claim.key in seen_keys:
            first = seen_keys[claim.key]
            raise CurationError(claim.file, claim.line, f"duplicate claim key '{claim.key}' (first at {first.file}:{first.line})")
        seen_keys[claim.key] = claim
        content = (claim.source, claim.subject, claim.predicate, claim.object, claim.value, claim.direction,
                   claim.certainty, claim.frequency, claim.start, claim.quote)
        if content in seen_content:
            first = seen_content[content]
            raise CurationError(claim.file, claim.line, f"duplicate claim: '{claim.key}' states the same as "
                                f"'{first.key}' ({first.file}:{first.line}) with the same quote")
        seen_content[content] = claim
    for claim in claims:
        if claim.supersedes and claim.supersedes not in seen_keys:
            raise CurationError(claim.file, claim.line, f"supersedes unknown claim key '{claim.supersedes}'")
    return {**sources, **tables}, claims
