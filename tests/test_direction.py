"""Direction: a source contradicting itself is refused; sources disagreeing are kept and listed; hedges never conflict."""

from pathlib import Path

import pytest
from pyoxigraph import RdfFormat, serialize
from typer.testing import CliRunner

from kg.compile import compile_dataset
from kg.direction import contradictions, opposing
from kg.model import CurationError
from kg.namespaces import Namespaces
from kg.queries import QUERY_DIR
from kg.settings import DEFAULT_BASE_IRI
from kg.store import OxigraphStore, select_rows
from pipeline.build import build, ontology_quads
from pipeline.cli import app
from pipeline.readers.folder import load_all
from tests.conftest import add_second_opinion, append_claims

CLAIMS = "claims/poems-cause-summary.yaml"
PCD = "http://purl.obolibrary.org/obo/MONDO_0004960"
POEMS = "http://purl.obolibrary.org/obo/MONDO_0017364"
# The seed supports "plasma cell dyscrasia causes POEMS syndrome"; this claim of the same source disputes it.
SELF_CONTRADICTION = """
  - key: fixture-pcd-not-cause
    subject: MONDO:0004960
    predicate: biolink:causes
    object: MONDO:0017364
    direction: disputes
    quote: "caused by an underlying plasma cell dyscrasia"
"""


def line_of(kg_dir: Path, key: str) -> int:
    text = (kg_dir / CLAIMS).read_text()
    return text[: text.index(f"- key: {key}")].count("\n") + 1


def test_a_source_supporting_and_disputing_one_statement_is_refused_with_file_and_line(kg_copy: Path, tmp_path: Path) -> None:
    append_claims(kg_copy, SELF_CONTRADICTION + "    note: Fixture that makes the seed contradict itself.\n")
    with pytest.raises(CurationError) as caught:
        build(kg_copy, DEFAULT_BASE_IRI)
    assert (caught.value.file, caught.value.line) == (kg_copy / CLAIMS, line_of(kg_copy, "fixture-pcd-not-cause"))
    assert "contradicts itself" in caught.value.message and "'fixture-pcd-not-cause' disputes" in caught.value.message
    assert "'pcd-causes-poems' supports" in caught.value.message or "'pcd-drives-poems' supports" in caught.value.message
    for command in (["build", "--out", str(tmp_path / "out")], ["validate"]):
        result = CliRunner().invoke(app, [*command, "--kg-dir", str(kg_copy)])
        assert result.exit_code == 1
        assert f"{kg_copy / CLAIMS}:{line_of(kg_copy, 'fixture-pcd-not-cause')}:" in result.output.replace("\n", "")
    assert not (tmp_path / "out").exists()


def test_superseding_the_opposite_claim_is_a_correction_not_a_contradiction(kg_copy: Path) -> None:
    """Both claims that say "caused by ..." are corrected, so no current claim of the source supports it any more."""
    append_claims(kg_copy, SELF_CONTRADICTION + "    supersedes: pcd-causes-poems\n    note: Fixture correction.\n"
                  + SELF_CONTRADICTION.replace("fixture-pcd-not-cause", "fixture-pcd-not-driver").replace(
                      "caused by an underlying plasma cell dyscrasia", "At its core, POEMS syndrome is driven by a plasma cell disorder.")
                  + "    supersedes: pcd-drives-poems\n    note: Fixture correction.\n")
    result = build(kg_copy, DEFAULT_BASE_IRI)
    store = OxigraphStore()
    store.load(result.quads)
    assert contradictions(store, result.ns) == [] and opposing(store, result.ns) == []


@pytest.mark.parametrize("direction", ["hypothesis", "insufficient_evidence"])
def test_a_hypothesis_or_insufficient_evidence_claim_conflicts_with_nothing(kg_copy: Path, direction: str) -> None:
    """Beside the seed's own support of "plasma cell dyscrasia causes POEMS syndrome", in the same source."""
    append_claims(kg_copy, SELF_CONTRADICTION.replace("direction: disputes", f"direction: {direction}")
                  + "    note: Fixture hedged claim on a supported statement.\n")
    result = build(kg_copy, DEFAULT_BASE_IRI)
    store = OxigraphStore()
    store.load(result.quads)
    assert opposing(store, result.ns) == []


def test_a_second_source_disputing_the_first_is_kept_as_a_disagreement(kg_copy: Path) -> None:
    add_second_opinion(kg_copy)
    result = build(kg_copy, DEFAULT_BASE_IRI)
    iris = result.iris
    store = OxigraphStore()
    store.load(result.quads)
    found = opposing(store, result.ns)
    assert contradictions(store, result.ns) == []
    assert {(o.supporting, o.disputing) for o in found} == {
        (iris["pcd-causes-poems"], iris["fixture-pcd-does-not-cause-poems"]),
        (iris["pcd-drives-poems"], iris["fixture-pcd-does-not-cause-poems"])}
    first = next(o for o in found if o.supporting == iris["pcd-causes-poems"])
    assert (first.subject, first.object) == (PCD, POEMS)
    assert first.supporting_source.endswith("source/poems-cause-summary")
    assert first.disputing_source.endswith("source/fixture-second-opinion")
    assert (first.supporting_quote, first.disputing_quote) == (
        "caused by an underlying plasma cell dyscrasia", "POEMS syndrome is not caused by a plasma cell dyscrasia")
    # the example query a SPARQL user runs gives the same pairs; narrowed to an unrelated entity, none
    rows = select_rows(store.query((QUERY_DIR / "opposing-claims.rq").read_text()))
    assert {(r["supporting"], r["disputing"]) for r in rows} == {(o.supporting, o.disputing) for o in found}
    assert opposing(store, result.ns, ["http://purl.obolibrary.org/obo/ECTO_0001098"]) == []
    assert len(opposing(store, result.ns, [POEMS])) == 2


def test_a_dump_whose_source_contradicts_itself_is_not_restored(kg_copy: Path, tmp_path: Path) -> None:
    """``load --from`` runs the same rule on a dump compiled without the build's checks."""
    append_claims(kg_copy, SELF_CONTRADICTION + "    note: Fixture that makes the seed contradict itself.\n")
    ns = Namespaces(DEFAULT_BASE_IRI)
    sources, claims = load_all(kg_copy, ns)
    dump = tmp_path / "dump.nq"
    dump.write_bytes(serialize(compile_dataset(sources, claims, ns, ontology_quads(ns)).quads, format=RdfFormat.N_QUADS) or b"")
    result = CliRunner().invoke(app, ["load", "--store", str(tmp_path / "restored"), "--from", str(dump)])
    assert result.exit_code == 1
    assert "contradicts itself" in result.output.replace("\n", " ")
    assert f"poems-cause-summary.yaml:{line_of(kg_copy, 'fixture-pcd-not-cause')}:" in result.output.replace("\n", "")
    assert not (tmp_path / "restored").exists()
