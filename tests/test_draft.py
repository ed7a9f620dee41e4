"""Claims drafted from a new source's text (``poems-kg draft``): terms with their offsets, directions from their cues,
exact quotes, ``status: draft`` refused by the build; and the bad input of a curator adding a source."""

import hashlib
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kg.namespaces import Namespaces
from kg.settings import DEFAULT_BASE_IRI, get_settings
from pipeline.cli import app
from pipeline.draft import Drafter
from pipeline.readers.text import load_source
from tests.conftest import KG_DIR

TEXT = ("POEMS syndrome is not an inherited disease.\n"
        "There is no definitive evidence that a viral infectious disease causes POEMS syndrome.\n"
        "Researchers are looking into whether chronic immune stimulation might play a role in POEMS syndrome.\n"
        "For POEMS syndrome, the primary risk factor is often a monoclonal gammopathy.\n")


def new_source(kg_dir: Path, text: str = TEXT) -> Path:
    """A source folder ``kg_dir/sources/new-summary`` with ``text`` and its metadata."""
    folder = kg_dir / "sources" / "new-summary"
    folder.mkdir(parents=True)
    (folder / "text.txt").write_text(text, encoding="utf-8")
    meta = (KG_DIR / "sources/poems-cause-summary/metadata.yaml").read_text().split("# Sentences")[0]
    meta = meta.replace("id: poems-cause-summary", "id: new-summary").replace(
        "ff2048c2e8558f8cc1e585701c212829eb1ebc2ea5e1bcb78971897d53d1de8f", hashlib.sha256(text.encode()).hexdigest())
    (folder / "metadata.yaml").write_text(meta, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def drafter() -> Drafter:
    """The lexicon (slice, minted terms, all of HPO) and medspaCy pipeline, made once (about 5 s)."""
    return Drafter(DEFAULT_BASE_IRI, None)


def test_a_small_text_is_drafted_with_its_terms_offsets_and_directions(drafter: Drafter, tmp_path: Path) -> None:
    source = load_source(new_source(tmp_path / "kg"), Namespaces(DEFAULT_BASE_IRI))
    drafts = drafter.draft(source)
    for d in drafts:  # every mention is where it says, every quote a sentence of the text
        for m in (d.subject, d.object):
            assert TEXT[m.start:m.end] == m.text and m.text.lower() in {c.label.lower() for c in m.candidates[:1]} | {m.text.lower()}
        assert d.quote in TEXT.splitlines()
    found = {(d.subject.term.curie, d.predicate, d.object.term.curie, d.direction, d.certainty, d.frequency) for d in drafts}
    assert ("MONDO:0017364", "biolink:has_mode_of_inheritance", "MONDO:0021152", "disputes", None, None) in found
    assert ("MONDO:0005108", "biolink:causes", "MONDO:0017364", "insufficient_evidence", None, None) in found
    assert ("poems:chronic-immune-stimulation", "biolink:contributes_to", "MONDO:0017364", "hypothesis", None, None) in found
    assert ("MONDO:0004960", "biolink:associated_with_increased_likelihood_of", "MONDO:0017364", "supports", None, "often") in found
    inherited = next(d for d in drafts if d.object.term.curie == "MONDO:0021152")
    assert (inherited.object.start, inherited.object.end) == (TEXT.index("inherited"), TEXT.index("inherited") + 9)
    assert inherited.object.term.ontology == "MONDO" and inherited.object.term.label == "inherited"
    assert "direction from 'is not' (NEGATED_EXISTENCE)" in inherited.cues
    viral = next(d for d in drafts if d.subject.term.curie == "MONDO:0005108")
    assert "direction from 'no definitive evidence' (INSUFFICIENT_EVIDENCE)" in viral.cues


def test_the_draft_command_writes_drafts_the_build_refuses_until_reviewed(tmp_path: Path) -> None:
    kg_dir = tmp_path / "kg"
    curator_folder(kg_dir)
    folder = new_source(kg_dir)
    result = CliRunner().invoke(app, ["draft", str(folder)])
    assert result.exit_code == 0, result.output
    drafted = kg_dir / "claims" / "new-summary.yaml"
    data = yaml.safe_load(drafted.read_text())
    assert data["source"] == "new-summary" and data["claims"]
    assert all(c["status"] == "draft" and c["quote"] in TEXT for c in data["claims"])
    lines = drafted.read_text().splitlines()
    status_line = lines.index("    status: draft") + 1
    built = CliRunner().invoke(app, ["build", "--kg-dir", str(kg_dir), "--out", str(tmp_path / "out")])
    said = " ".join(built.output.split())
    assert built.exit_code == 1 and f"{drafted}:{status_line}: claim 'draft-001' is a draft" in said
    assert not (tmp_path / "out").exists()
    # reviewed: the curator keeps the inheritance claim, deletes its status line, and the build takes it
    keep = next(c for c in data["claims"] if c.get("object") == "MONDO:0021152")
    keep.pop("status")
    data["claims"] = [keep]
    drafted.write_text(yaml.safe_dump(data, sort_keys=False))
    built = CliRunner().invoke(app, ["build", "--kg-dir", str(kg_dir), "--out", str(tmp_path / "out")])
    assert built.exit_code == 0, built.output
    # a second draft does not overwrite the reviewed file
    again = CliRunner().invoke(app, ["draft", str(folder)])
    assert again.exit_code == 1 and "a claims file is already there: give --out, or --force" in " ".join(again.output.split())


def curator_folder(kg_dir: Path) -> None:
    """A curator's folder with only the new source: ``sources/`` and ``claims/``."""
    (kg_dir / "claims").mkdir(parents=True)
    (kg_dir / "sources").mkdir()


def test_a_draft_file_edited_into_invalid_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    kg_dir = tmp_path / "kg"
    curator_folder(kg_dir)
    new_source(kg_dir)
    claims = kg_dir / "claims" / "new-summary.yaml"
    claims.write_text("source: new-summary\ncreated: 2026-12-06\ncreator: poems:curation-team\nclaims:\n"
                      "  - key: a\n    subject: MONDO:0017364\n    quote: \"unclosed\n")
    result = CliRunner().invoke(app, ["build", "--kg-dir", str(kg_dir), "--out", str(tmp_path / "out")])
    said = " ".join(result.output.split())
    # the parser stops at the end of the file (line 8) and names where the unclosed quote began (line 7)
    assert result.exit_code == 1 and f"{claims}:8: invalid YAML" in said and "(line: 7)" in said and "Traceback" not in said


def test_a_source_text_over_the_size_limit_is_refused_by_build_and_draft(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kg_dir = tmp_path / "kg"
    curator_folder(kg_dir)
    folder = new_source(kg_dir)
    monkeypatch.setenv("POEMS_KG_MAX_SOURCE_BYTES", "100")
    get_settings.cache_clear()
    try:
        for command in (["draft", str(folder)], ["validate", "--kg-dir", str(kg_dir)]):
            result = CliRunner().invoke(app, command)
            said = " ".join(result.output.split())
            assert result.exit_code == 1, command
            assert f"{folder / 'text.txt'}:1: text.txt is {len(TEXT.encode()):,} bytes, more than the 100 a source may have " \
                   "(POEMS_KG_MAX_SOURCE_BYTES)" in said, said
        assert not (kg_dir / "claims" / "new-summary.yaml").exists()
    finally:
        monkeypatch.delenv("POEMS_KG_MAX_SOURCE_BYTES")
        get_settings.cache_clear()


def test_a_phrase_matched_across_a_line_break_keeps_its_candidates(drafter: Drafter) -> None:
    assert drafter._candidates("Monoclonal\n gammopathy", "MONDO:0004960")[0].curie == "MONDO:0004960"
    assert [c.curie for c in drafter._candidates("unheard-of phrase", "MONDO:0004960")] == ["MONDO:0004960"]
