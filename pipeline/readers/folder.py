"""A curated folder: its sources and claims, read by the reader of each kind, and the checks across them.

A text source is read by ``pipeline.readers.text``, a table source by ``pipeline.readers.table``; neither reader imports the other.
"""

import logging
import re
from functools import partial
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from kg.model import Claim, CurationError, Source, TableSource
from kg.namespaces import Namespaces
from kg.terms import ontology_files
from pipeline.readers.table import load_table_source, table_claims
from pipeline.readers.text import load_claims, load_source, read_yaml, yaml_line

LOG = logging.getLogger("poems_kg")


def load_sources(kg_dir: Path, ns: Namespaces) -> tuple[dict[str, Source], dict[str, TableSource]]:
    """The text sources and the table sources under ``kg_dir/sources``."""
    sources: dict[str, Source] = {}
    tables: dict[str, TableSource] = {}
    for directory in sorted(d for d in (kg_dir / "sources").iterdir() if d.is_dir()):
        meta_file = directory / "metadata.yaml"
        meta = read_yaml(meta_file) if meta_file.exists() else None
        if isinstance(meta, CommentedMap) and meta.get("kind") == "table":
            if meta.get("id") != directory.name:
                raise CurationError(meta_file, yaml_line(meta, "id"),
                                    f"id '{meta.get('id')}' must equal the folder name '{directory.name}'")
            tables[directory.name] = load_table_source(meta, meta_file, ns, partial(yaml_line, meta))
        else:
            sources[directory.name] = load_source(directory, ns, ontology_files(kg_dir))
    return sources, tables


def load_all(kg_dir: Path, ns: Namespaces) -> tuple[dict[str, Source | TableSource], list[Claim]]:
    """Load every source under ``kg_dir/sources`` and every claims file under ``kg_dir/claims``.

    Checks across files: claim keys are unique, no two claims are identical, and
    every ``supersedes`` names a known claim.
    """
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


SENTENCE = re.compile(r"[^.?!\n]+(?:[.?!]|$)", flags=re.M)  # a sentence of a text source: up to its stop or line end


def uncovered(source: Source, claims: list[Claim]) -> list[tuple[int, str]]:
    """The sentences of a text source that no claim quotes and its metadata does not list as out of scope: (line, text).

    A sentence repeated later in the text (a summary restated) counts as covered where its first copy is.
    """
    spans = [(c.start, c.end) for c in claims if c.source == source.id and c.row is None]
    spans += [(p.start, p.start + len(p.quote)) for p in source.out_of_scope]
    found = []
    for match in SENTENCE.finditer(source.text):
        start, end = match.span()
        first = source.text.find(match.group())
        if len(match.group().strip()) > 3 and not any(
                s < e2 and e > s2 for s, e in ((start, end), (first, first + end - start)) for s2, e2 in spans):
            found.append((source.text.count("\n", 0, start) + 1, match.group().strip()))
    return found
