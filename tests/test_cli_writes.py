"""``poems-kg add-claim``: a claim written to an on-disk store through the same gate as the API's claim writes."""

import gc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.namespaces import Namespaces
from kg.settings import get_settings
from kg.store import OxigraphStore, select_rows
from pipeline.build import Build
from pipeline.cli import app
from tests.conftest import contents

runner = CliRunner()
CLAIM = """source: poems-cause-summary
key: immune-component-restated
subject: MONDO:0017364
predicate: biolink:associated_with
object: HP:0002715
quote: POEMS syndrome is a rare paraneoplastic disorder
note: Written with poems-kg add-claim.
"""


@pytest.fixture
def on_disk(tmp_path: Path, seed: Build) -> Path:
    """The seed in an on-disk store, closed so that the command can open it."""
    folder = tmp_path / "store"
    store = OxigraphStore(folder)
    store.load(seed.quads)
    store.flush()
    del store
    gc.collect()
    return folder


def add(tmp_path: Path, store: Path, text: str, *options: str) -> tuple[int, str, str]:
    file = tmp_path / "claim.yaml"
    file.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["add-claim", str(file), "--store", str(store), "--by", "curator", *options])
    return result.exit_code, result.stdout, result.stderr


def reopened(folder: Path) -> OxigraphStore:
    gc.collect()
    return OxigraphStore(folder)


def test_an_accepted_claim_is_committed_with_its_writer(tmp_path: Path, on_disk: Path) -> None:
    code, out, err = add(tmp_path, on_disk, CLAIM)
    assert code == 0, err
    iri = out.strip()
    ns = Namespaces(get_settings().base_iri)
    assert iri.startswith(ns.claim)
    rows = select_rows(reopened(on_disk).query(
        f"SELECT ?who ?action WHERE {{ GRAPH <{ns.graph}writes> {{ <{iri}> <http://www.w3.org/ns/prov#wasAttributedTo> ?who ; "
        f"<{ns.entity}writeAction> ?action }} }}"))
    assert [(r["who"], r["action"]) for r in rows] == [(f"{ns.base}agent/curator", "create")]


@pytest.mark.parametrize(("text", "message"), [
    (CLAIM.replace("rare paraneoplastic", "rare paraneoplastik"), "claim.yaml:6: quote of claim 'immune-component-restated' does not occur"),
    (CLAIM.replace("HP:0002715", "HP:9999999"), "claim.yaml:5: object: HP:9999999 is not in the import slice"),
    ("- not a mapping\n", "claim.yaml:1: a claim file is one mapping of fields"),
], ids=["misquoted", "undefined-term", "not-a-mapping"])
def test_a_refused_claim_names_the_file_and_changes_nothing(tmp_path: Path, on_disk: Path, text: str, message: str) -> None:
    store = reopened(on_disk)
    before = contents(store)
    del store
    code, _, err = add(tmp_path, on_disk, text)
    assert code == 1 and message in " ".join(err.split()), err
    assert contents(reopened(on_disk)) == before


def test_a_contradiction_is_refused_with_the_api_s_message_and_report(tmp_path: Path, on_disk: Path) -> None:
    """The command and ``POST /api/v1/claims`` call one gate: the same refusal, naming the claims it contradicts."""
    text = (CLAIM.replace("predicate: biolink:associated_with", "predicate: biolink:has_mode_of_inheritance")
            .replace("HP:0002715", "MONDO:0021152").replace("is a rare paraneoplastic disorder", "is not an inherited disease"))
    code, _, err = add(tmp_path, on_disk, text)
    said = " ".join(err.split())
    assert code == 1 and "the claim contradicts a current claim of the same source" in said
    assert said.count("'disputing_quote'") == 3 and "You cannot pass this condition to your children" in said
