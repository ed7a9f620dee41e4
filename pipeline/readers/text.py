"""The reader of text sources: a source's text and metadata, and its claims files, with file and line for every error."""

import datetime as dt
import difflib
import hashlib
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from kg.biolink import association, knowledge_source_iri, uncategorized
from kg.direction import CERTAINTIES, DIRECTIONS, DISPUTES, FORMER_CERTAINTIES, SUPPORTS, Direction
from kg.model import Claim, CurationError, OutOfScope, Source
from kg.namespaces import CurieError, Namespaces
from kg.settings import get_settings
from kg.terms import ONTOLOGY_FILES, problem

CLAIM_DEFAULTS = {"evidence": "ECO:0000303"}
CLAIM_FIELDS = {
    "key", "subject", "subject_label", "predicate", "object", "object_label", "value", "direction", "negated",
    "certainty", "frequency", "evidence", "quote", "occurrence", "note", "supersedes", "status",
}

REQUIRED_CLAIM_FIELDS = ("key", "subject", "predicate", "quote", "note")
SOURCE_FIELDS = ("id", "title", "publisher", "knowledge_source", "document_types", "review_status", "modified", "sha256")


def read_yaml(path: Path) -> Any:
    """A curated YAML file, its nodes knowing their lines; invalid YAML is a ``CurationError`` at its line."""
    try:
        return YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CurationError(path, (mark.line + 1) if mark else 1, f"invalid YAML: {exc}") from None


def yaml_line(node: Any, key: str | None = None) -> int:
    """The line of a YAML node, or of one of its keys (1 when unknown)."""
    if isinstance(node, CommentedMap):
        if key is not None and key in node:
            return node.lc.key(key)[0] + 1
        return node.lc.line + 1
    return 1


def load_source(directory: Path, ns: Namespaces, files: tuple[Path, ...] = ONTOLOGY_FILES) -> Source:
    """Read ``<directory>/text.txt`` and ``metadata.yaml``, checking the sha256 and the knowledge source."""
    meta_file = directory / "metadata.yaml"
    text_file = directory / "text.txt"
    if not meta_file.exists() or not text_file.exists():
        raise CurationError(directory, 1, "a source folder needs text.txt and metadata.yaml")
    meta = read_yaml(meta_file)
    if not isinstance(meta, CommentedMap):
        raise CurationError(meta_file, 1, "metadata must be a mapping")
    for name in SOURCE_FIELDS:
        if name not in meta:
            raise CurationError(meta_file, yaml_line(meta), f"missing field '{name}'")
    limit = get_settings().max_source_bytes
    if text_file.is_file() and (size := text_file.stat().st_size) > limit:
        raise CurationError(text_file, 1, f"text.txt is {size:,} bytes, more than the {limit:,} a source may have "
                            "(POEMS_KG_MAX_SOURCE_BYTES); split the document into sources, or raise the limit")
    raw = text_file.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != meta["sha256"]:
        raise CurationError(meta_file, yaml_line(meta, "sha256"),
                            f"sha256 {meta['sha256']} does not match text.txt ({digest}); "
                            "the text must stay verbatim, or update the hash if the source changed")
    if meta["id"] != directory.name:
        raise CurationError(meta_file, yaml_line(meta, "id"), f"id '{meta['id']}' must equal the folder name '{directory.name}'")
    modified = meta["modified"]
    if not isinstance(modified, dt.date):
        raise CurationError(meta_file, yaml_line(meta, "modified"), "modified must be a date (YYYY-MM-DD)")
    if not raw.strip():
        raise CurationError(text_file, 1, "text.txt is empty: a source is the document's text, verbatim")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CurationError(text_file, raw.count(b"\n", 0, exc.start) + 1, f"text.txt is not UTF-8: byte "
                            f"0x{raw[exc.start]:02x} at offset {exc.start}; save the text as UTF-8 and update sha256") from None
    try:
        knowledge_source = knowledge_source_iri(str(meta["knowledge_source"]), ns, files)
    except ValueError as exc:
        raise CurationError(meta_file, yaml_line(meta, "knowledge_source"), f"knowledge_source: {exc}") from None
    out_of_scope = tuple(OutOfScope(str(item["quote"]), str(item["reason"]), yaml_line(item), text.find(str(item["quote"])))
                         for item in meta.get("out_of_scope") or [])
    for passage in out_of_scope:
        if passage.start < 0:
            raise CurationError(meta_file, passage.line, f"out-of-scope quote not in the text: {_closest(text, passage.quote)}")
    return Source(
        id=str(meta["id"]), text=text, title=str(meta["title"]), publisher=str(meta["publisher"]),
        knowledge_source=knowledge_source,
        document_types=tuple(str(t) for t in meta["document_types"]), review_status=str(meta["review_status"]),
        modified=modified, sha256=digest, language=str(meta.get("language", "en")),
        out_of_scope=out_of_scope, metadata_file=meta_file,
    )


def _closest(text: str, quote: str) -> str:
    """Where the text comes closest to a quote it does not hold, and the first character where the two differ."""
    match = difflib.SequenceMatcher(None, text, quote, autojunk=False).find_longest_match(0, len(text), 0, len(quote))
    begin = max(0, match.a - match.b)
    passage = text[begin:begin + len(quote)]
    differs = next((i for i, (a, b) in enumerate(zip(passage, quote, strict=False)) if a != b), min(len(passage), len(quote)))
    line = text.count("\n", 0, begin) + 1
    found = repr(passage[differs]) if differs < len(passage) else "the end of the text"
    given = repr(quote[differs]) if differs < len(quote) else "its end"
    return (f"the closest passage, at line {line} of text.txt, is '{passage[:80]}'; they differ at character "
            f"{differs + 1} of the quote: the text has {found}, the quote {given}")


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
    if "status" in item:  # only `poems-kg draft` writes it
        raise CurationError(path, line_of("status"), f"claim '{key}' is a draft (status: {item['status']}): review it "
                            "against the source, then delete its status line (or the claim); nothing unreviewed is built")
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
                            f"(occurrence {occurrence}); copy it exactly from text.txt: {_closest(source.text, quote)}")
    for passage in source.out_of_scope:  # a passage out of scope yields no claim: the dataset would say both
        if passage.start < start + len(quote) and start < passage.start + len(passage.quote):
            raise CurationError(path, line_of("quote"),
                                f"quote of claim '{key}' overlaps a passage that {source.metadata_file}:{passage.line} "
                                f"lists as out of scope ({passage.reason}); remove the claim, or take the passage out of "
                                "out_of_scope")
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
    doc = read_yaml(path)
    if not isinstance(doc, CommentedMap) or "claims" not in doc or "source" not in doc:
        raise CurationError(path, 1, "a claims file is a mapping with 'source' and 'claims'")
    for name in ("created", "creator"):
        if name not in doc:
            raise CurationError(path, 1, f"claims file is missing header field '{name}'")
    if not isinstance(doc["created"], dt.date):
        raise CurationError(path, yaml_line(doc, "created"), "created must be a date (YYYY-MM-DD)")
    try:
        creator = ns.expand(str(doc["creator"]))
    except CurieError as exc:
        raise CurationError(path, yaml_line(doc, "creator"), f"creator: {exc}") from None
    source_id = str(doc["source"])
    if source_id not in sources:
        raise CurationError(path, yaml_line(doc, "source"), f"unknown source '{source_id}' (known: {', '.join(sorted(sources))})")
    source = sources[source_id]
    defaults = dict(doc.get("defaults") or {})
    claims: list[Claim] = []
    for entry in doc["claims"]:
        if not isinstance(entry, CommentedMap):
            raise CurationError(path, yaml_line(entry), "each claim must be a mapping")
        claims.append(parse_claim(entry, source, ns, defaults=defaults, created=doc["created"], creator=creator,
                                  path=path, line_of=partial(yaml_line, entry), files=files))
    return claims
