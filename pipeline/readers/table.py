"""Table sources: a published annotation file whose rows are claims, one claim per selected row.

A table source is a folder under ``kg/sources/`` with only ``metadata.yaml`` (``kind: table``): which file (inside a
pinned package), its release and sha256, its licence, and which rows (diseases, aspects). The file is read in place,
never copied; each claim cites its row by line number and verbatim text. Adding a disease or another file of a known
format is a change to that metadata, not to code.

The one format so far is HPO's ``phenotype.hpoa``: twelve tab-separated columns, ``#`` comment lines, a header line.
"""

import datetime as dt
import hashlib
import importlib.resources
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.biolink import association, knowledge_source_iri, uncategorized
from kg.direction import DISPUTES, SUPPORTS
from kg.model import Claim, CurationError, Row, TableSource
from kg.namespaces import CurieError, Namespaces
from kg.terms import descends, ontology_files, problem
from pipeline.readers.crosswalk import load_mappings

HPOA_COLUMNS = ("database_id", "disease_name", "qualifier", "hpo_id", "reference", "evidence", "onset", "frequency",
                "sex", "modifier", "aspect", "biocuration")
# HPO's evidence codes and the ECO classes that say the same: TAS and IEA as in ECO's own gaf-eco-mapping.txt; PCS
# ("published clinical study", HPO's own code) as ECO's "author statement supported from referenced clinical study".
HPOA_EVIDENCE = {"TAS": "ECO:0000304", "PCS": "ECO:0006017", "IEA": "ECO:0000501"}
# The aspect column: which Biolink predicate a row of that aspect states (its association class: kg.biolink).
HPOA_ASPECTS = {"P": "biolink:has_phenotype", "I": "biolink:has_mode_of_inheritance"}
HPO_ROOTS = {"frequency": "HP:0040279", "onset": "HP:0003674", "modifier": "HP:0012823"}  # where each column's terms sit
COUNT = re.compile(r"^(\d+)/(\d+)$")
PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
TABLE_FIELDS = ("id", "kind", "format", "title", "publisher", "release", "file", "sha256", "download_url", "license",
                "rights", "disease_prefixes", "knowledge_sources", "diseases", "aspects", "bad_rows", "created", "creator")


def load_table_source(meta: Mapping[str, Any], meta_file: Path, ns: Namespaces, line_of: Any) -> TableSource:
    """The table source a ``metadata.yaml`` of ``kind: table`` describes, its file found and its sha256 checked."""
    for name in TABLE_FIELDS:
        if name not in meta:
            raise CurationError(meta_file, line_of(None), f"a table source needs the field '{name}'")
    if meta["format"] != "hpoa":
        raise CurationError(meta_file, line_of("format"), f"unknown table format '{meta['format']}' (known: hpoa)")
    where = meta["file"]
    if not isinstance(where, Mapping) or not isinstance(where.get("path"), str):
        raise CurationError(meta_file, line_of("file"), "file must name a path (file: {path: ...}), in an installed "
                            "package (file: {package: ..., path: ...}) or beside metadata.yaml")
    try:  # a file inside an installed (pinned) package, or one beside the metadata
        folder = importlib.resources.files(str(where["package"])) if "package" in where else meta_file.parent
    except ModuleNotFoundError:
        raise CurationError(meta_file, line_of("file"), f"the file is in the Python package '{where['package']}', which "
                            f"is not installed: pip install {where['package']} (the release the sha256 names)") from None
    path = Path(str(folder / where["path"]))
    if not path.is_file():
        beside = "in the package " + str(where["package"]) if "package" in where else "beside metadata.yaml"
        raise CurationError(meta_file, line_of("file"), f"no file {path}: the source's file must be {beside}")
    digest = _sha256(path)
    if digest != meta["sha256"]:
        raise CurationError(meta_file, line_of("sha256"), f"sha256 {meta['sha256']} does not match {path} ({digest}): "
                            "another release is installed; pin the package or update the metadata")
    for name in ("release", "created"):
        if not isinstance(meta[name], dt.date):
            raise CurationError(meta_file, line_of(name), f"{name} must be a date (YYYY-MM-DD)")
    unknown = set(meta["aspects"]) - set(HPOA_ASPECTS)
    if unknown:
        raise CurationError(meta_file, line_of("aspects"), f"unknown aspect(s) {sorted(unknown)}; known: {sorted(HPOA_ASPECTS)}")
    if meta["bad_rows"] not in ("refuse", "skip"):
        raise CurationError(meta_file, line_of("bad_rows"), "bad_rows must be 'refuse' or 'skip'")
    try:
        creator = ns.expand(str(meta["creator"]))
    except CurieError as exc:
        raise CurationError(meta_file, line_of("creator"), f"creator: {exc}") from None
    diseases = None if meta["diseases"] == "all" else frozenset(str(d) for d in meta["diseases"])
    primary, aggregators = _knowledge_sources(meta["knowledge_sources"], meta["disease_prefixes"], ns,
                                              lambda message: CurationError(meta_file, line_of("knowledge_sources"), message))
    return TableSource(
        id=str(meta["id"]), title=str(meta["title"]), publisher=str(meta["publisher"]), release=meta["release"],
        file=path, file_name=f"{where['package']}:{where['path']}" if "package" in where else str(where["path"]), sha256=digest,
        download_url=str(meta["download_url"]), license=str(meta["license"]), rights=str(meta["rights"]),
        disease_prefixes={str(k): str(v) for k, v in meta["disease_prefixes"].items()}, primary_sources=primary,
        aggregators=aggregators, diseases=diseases,
        aspects=frozenset(str(a) for a in meta["aspects"]), skip_bad_rows=meta["bad_rows"] == "skip",
        created=meta["created"], creator=creator, metadata_file=meta_file,
    )


def _knowledge_sources(given: Any, prefixes: Mapping[str, str], ns: Namespaces,
                       bad: Callable[[str], CurationError]) -> tuple[dict[str, str], tuple[str, ...]]:
    """``knowledge_sources``: a primary source for each disease prefix, and the aggregators (IRIs)."""
    if not isinstance(given, Mapping) or not isinstance(given.get("primary"), Mapping):
        raise bad("knowledge_sources needs 'primary' (disease prefix: infores CURIE) and 'aggregators' (a list)")
    missing = sorted(set(prefixes) - set(given["primary"]))
    if missing:
        raise bad(f"knowledge_sources: no primary source for the disease prefix(es) {missing}")
    try:
        return ({str(p): knowledge_source_iri(str(c), ns) for p, c in given["primary"].items()},
                tuple(knowledge_source_iri(str(c), ns) for c in given.get("aggregators") or ()))
    except ValueError as exc:
        raise bad(f"knowledge_sources: {exc}") from None


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass
class TableRows:
    """The claims of a table's selected rows, and the rows left out with a warning (``bad_rows: skip``)."""

    claims: list[Claim]
    skipped: list[CurationError]


def table_claims(source: TableSource, kg_dir: Path, ns: Namespaces) -> TableRows:
    """Read the table once, streaming, and turn each selected row into a claim; a bad row is refused or skipped.

    Terms are checked in the ontology files with the import slices of ``kg_dir`` (``ontology_files``).
    """
    to_mondo = {m.object: m.subject for m in load_mappings(kg_dir, ns)
                if m.predicate == "skos:exactMatch" and m.subject.startswith("MONDO:")}
    files = ontology_files(kg_dir)
    out = TableRows([], [])
    for line, offset, text, values in _selected_rows(source):
        try:
            out.claims.append(_row_claim(source, values, text, line, offset, to_mondo, ns, files))
        except CurationError as exc:
            if not source.skip_bad_rows:
                raise
            out.skipped.append(exc)
    return out


def table_terms(source: TableSource) -> tuple[set[str], set[str]]:
    """The diseases (as poems-kg names them) and the HPO terms that the selected rows of a table name."""
    diseases: set[str] = set()
    terms: set[str] = set()
    for *_, values in _selected_rows(source):
        if len(values) != len(HPOA_COLUMNS):
            continue
        row = dict(zip(HPOA_COLUMNS, values, strict=True))
        prefix, _, local = row["database_id"].partition(":")
        diseases.add(f"{source.disease_prefixes.get(prefix, prefix)}:{local}")
        terms.update(t for column in ("hpo_id", "onset", "frequency", "modifier") for t in row[column].split(";")
                     if t.startswith("HP:"))
    return diseases, terms


def _selected_rows(source: TableSource) -> Iterator[tuple[int, int, str, list[str]]]:
    """The rows of the diseases and aspects the metadata selects: line number, offset, text, values."""
    for line, offset, text in _lines(source.file):
        if text.startswith("#") or text.startswith("database_id\t"):
            continue
        values = text.split("\t")
        disease, aspect = values[0], values[10] if len(values) > 10 else ""
        if (source.diseases is None or disease in source.diseases) and (len(values) != 12 or aspect in source.aspects):
            yield line, offset, text, values


def _lines(path: Path) -> Iterator[tuple[int, int, str]]:
    """Each line of a file: its number (from 1), its offset in characters, its text without the line break."""
    offset = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            yield number, offset, line.rstrip("\r\n")
            offset += len(line)


def _row_claim(source: TableSource, values: list[str], text: str, line: int, offset: int,
               to_mondo: Mapping[str, str], ns: Namespaces, files: tuple[Path, ...]) -> Claim:
    """One row as a claim: the disease (through MONDO's exact mapping) and the row's HPO term, qualified as given."""
    def bad(message: str) -> CurationError:
        return CurationError(source.file, line, message)

    if len(values) != len(HPOA_COLUMNS):
        raise bad(f"a row has {len(HPOA_COLUMNS)} tab-separated columns, this one {len(values)}")
    row = dict(zip(HPOA_COLUMNS, values, strict=True))
    prefix, _, local = row["database_id"].partition(":")
    if prefix not in source.disease_prefixes:
        raise bad(f"disease prefix '{prefix}' is not in disease_prefixes of {source.metadata_file}")
    disease = f"{source.disease_prefixes[prefix]}:{local}"
    if disease not in to_mondo:
        raise bad(f"disease {row['database_id']} has no MONDO exact match in the mappings of the curated folder (looked for {disease})")
    if row["qualifier"] not in ("", "NOT"):
        raise bad(f"qualifier '{row['qualifier']}' must be empty or NOT")
    if row["evidence"] not in HPOA_EVIDENCE:
        raise bad(f"unknown evidence code '{row['evidence']}' (known: {', '.join(HPOA_EVIDENCE)})")
    if row["sex"]:
        raise bad(f"sex-specific annotations ('{row['sex']}') are not supported: the claim would lose the sex it holds for")
    predicate = ns.expand(HPOA_ASPECTS[row["aspect"]])
    frequency, count, total, percentage = _frequency(row["frequency"], ns, files, bad)
    direction = DISPUTES if row["qualifier"] == "NOT" else SUPPORTS
    subject, obj = ns.expand(to_mondo[disease]), _hpo(row["hpo_id"], "hpo_id", None, ns, files, bad)
    for term in (subject, obj):
        if wrong := uncategorized(term, ns, files):
            raise bad(wrong)
    return Claim(
        key=f"{source.id}:line-{line}", source=source.id, subject=subject, predicate=predicate, object=obj, value=None,
        direction=direction.keyword, certainty="established", frequency=None,
        evidence=ns.expand(HPOA_EVIDENCE[row["evidence"]]), quote=text, start=offset, note="",
        supersedes=None, created=source.created, creator=source.creator, file=source.file, line=line,
        association=association(subject, predicate, obj, ns, files), primary_source=source.primary_sources[prefix],
        aggregators=source.aggregators,
        row=Row(automated=row["evidence"] == "IEA",
                publications=tuple(_reference(r, source, ns, bad) for r in row["reference"].split(";") if r),
                frequency=frequency, count=count, total=total, percentage=percentage,
                onset=_hpo(row["onset"], "onset", "onset", ns, files, bad) if row["onset"] else None,
                modifiers=tuple(_hpo(m, "modifier", "modifier", ns, files, bad) for m in row["modifier"].split(";") if m),
                license=source.license),
    )


def _hpo(curie: str, column: str, root: str | None, ns: Namespaces, files: tuple[Path, ...], bad: Any) -> str:
    """The IRI of a current HPO term of the import slice (under the column's root term, if it has one)."""
    try:
        iri = ns.expand(curie)
    except CurieError as exc:
        raise bad(f"{column}: {exc}") from None
    if not curie.startswith("HP:"):
        raise bad(f"{column}: {curie} is not an HPO term")
    if wrong := problem(iri, ns, None, files):
        raise bad(f"{column}: {wrong}")
    if root and not descends(iri, ns.expand(HPO_ROOTS[root]), ns, files):
        raise bad(f"{column}: {curie} is not a term under {HPO_ROOTS[root]} ({root})")
    return iri


def _frequency(value: str, ns: Namespaces, files: tuple[Path, ...], bad: Any) -> tuple[str | None, int | None, int | None, float | None]:
    """An HPO frequency term, or "n/m" (count, total), or "n%" (percentage), or nothing."""
    if not value:
        return None, None, None, None
    if found := COUNT.match(value):
        count, total = int(found[1]), int(found[2])
        if total == 0 or count > total:
            raise bad(f"frequency '{value}': the count must be at most the total, and the total above 0")
        return None, count, total, None
    if found := PERCENT.match(value):
        if float(found[1]) > 100:
            raise bad(f"frequency '{value}' is above 100%")
        return None, None, None, float(found[1])
    if not value.startswith("HP:"):
        raise bad(f"unknown frequency '{value}': an HPO frequency term (HP:0040280 to HP:0040285), n/m or n%")
    return _hpo(value, "frequency", "frequency", ns, files, bad), None, None, None


def _reference(reference: str, source: TableSource, ns: Namespaces, bad: Any) -> str:
    """The IRI of a row's reference (``PMID:``, ``OMIM:``, ``ORPHA:``...), prefixes named as for diseases."""
    prefix, _, local = reference.partition(":")
    try:
        return ns.expand(f"{source.disease_prefixes.get(prefix, prefix)}:{local}")
    except CurieError as exc:
        raise bad(f"reference: {exc}") from None


TABLE_MAPPINGS_HEADER = """# curie_map: the prefixes of kg/namespaces.py
# mapping_set_id: https://w3id.org/poems-kg/mappings/mondo-exact-tables
# mapping_set_description: Every exact match MONDO's own mapping sets list for a disease that the selected rows of this
#   folder's table sources name. Generated by `poems-kg refresh-imports --kg-dir`; do not edit.
# license: https://creativecommons.org/publicdomain/zero/1.0/
"""
