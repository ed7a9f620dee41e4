"""The core data model: sources (a text, a table), claims (and a table row's extras), and the curation error.

Every reader (``pipeline.readers.text`` for texts, ``pipeline.readers.table`` for tables) turns a source folder into these; everything above
reads only these.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.direction import DIRECTIONS, SUPPORTS


@dataclass
class CurationError(Exception):
    """A problem in a curated file, located by file and line."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class OutOfScope:
    """A passage of a source that yields no claim, why, the line of ``metadata.yaml`` that says so, and where it is."""

    quote: str
    reason: str
    line: int
    start: int  # its first occurrence in the text


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
    out_of_scope: tuple[OutOfScope, ...]
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
