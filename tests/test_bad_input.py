"""Bad curated input: `poems-kg build` names file and line, exits non-zero and writes nothing."""

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.conftest import KG_DIR

CLAIMS = "claims/poems-cause-summary.yaml"
GOOD_QUOTE = 'quote: "caused by an underlying plasma cell dyscrasia"'


def edit(kg_dir: Path, old: str, new: str, rel: str = CLAIMS) -> int:
    """Replace the first ``old`` and return its 1-based line number."""
    path = kg_dir / rel
    text = path.read_text()
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1))
    return line


def run_build(kg_dir: Path, out: Path):
    return CliRunner().invoke(app, ["build", "--kg-dir", str(kg_dir), "--out", str(out)])


@pytest.mark.parametrize(("old", "new", "expected"), [
    (GOOD_QUOTE, 'quote: "caused by an underlying plasma cell dyscrasia (invented)"', "does not occur in source"),
    ("object: poems:cytokine-overproduction", "object: FOO:0000001", "unknown prefix 'FOO'"),
    ("object: MONDO:0017364", "object: MONDO:17364", "does not match MONDO identifiers"),
    ("object: MONDO:0017364", "object: MONDO 0017364", "is not a CURIE"),
    ("certainty: consensus", "certainty: likely", "certainty 'likely' must be one of"),
    ("direction: hypothesis", "direction: maybe", "direction 'maybe' must be one of supports, disputes, insufficient_evidence, hypothesis"),
    ("direction: insufficient_evidence", "direction: insufficient_evidence\n    negated: true",
     "negated: true conflicts with direction 'insufficient_evidence'"),
    ("direction: disputes\n    certainty: consensus", "direction: disputes\n    negated: false",
     "negated: false conflicts with direction 'disputes'"),
    ("direction: hypothesis", "certainty: hypothesis", "certainty 'hypothesis' is a direction: write direction: hypothesis"),
    ("direction: insufficient_evidence", "certainty: no_evidence",
     "certainty 'no_evidence' is a direction: write direction: insufficient_evidence"),
    ("direction: hypothesis", "direction: hypothesis\n    certainty: established",
     "a claim of direction 'hypothesis' has no certainty"),
])
def test_bad_field_is_reported_with_file_and_line(kg_copy: Path, tmp_path: Path, old: str, new: str, expected: str) -> None:
    line = edit(kg_copy, old, new) + new.count("\n")  # the line of the field that is wrong: the last one written
    result = run_build(kg_copy, tmp_path / "out")
    assert result.exit_code == 1
    assert f"{kg_copy / CLAIMS}:{line}:" in result.output.replace("\n", "")
    assert expected in result.output.replace("\n", " ")
    assert not (tmp_path / "out").exists()


def test_missing_field_names_the_field(kg_copy: Path, tmp_path: Path) -> None:
    edit(kg_copy, "    note: The summary's one-line statement of the cause.\n", "")
    result = run_build(kg_copy, tmp_path / "out")
    assert result.exit_code == 1
    assert "missing required field 'note'" in result.output
    assert not (tmp_path / "out").exists()


def test_duplicate_claim_is_refused(kg_copy: Path, tmp_path: Path) -> None:
    path = kg_copy / CLAIMS
    text = path.read_text()
    block_start = text.index("  - key: pcd-causes-poems")
    block_end = text.index("  - key: pcd-drives-poems")
    path.write_text(text + text[block_start:block_end].replace("pcd-causes-poems", "pcd-causes-poems-again"))
    result = run_build(kg_copy, tmp_path / "out")
    assert result.exit_code == 1
    assert "duplicate claim: 'pcd-causes-poems-again' states the same as 'pcd-causes-poems'" in result.output.replace("\n", "")
    assert not (tmp_path / "out").exists()


def test_duplicate_key_is_refused(kg_copy: Path, tmp_path: Path) -> None:
    edit(kg_copy, "key: pcd-drives-poems", "key: pcd-causes-poems")
    result = run_build(kg_copy, tmp_path / "out")
    assert result.exit_code == 1
    assert "duplicate claim key 'pcd-causes-poems'" in result.output


def test_altered_source_text_is_refused(kg_copy: Path, tmp_path: Path) -> None:
    edit(kg_copy, "rare paraneoplastic", "rare  paraneoplastic", rel="sources/poems-cause-summary/text.txt")
    result = run_build(kg_copy, tmp_path / "out")
    assert result.exit_code == 1
    assert "does not match text.txt" in result.output.replace("\n", "")


def test_failed_build_keeps_previous_output(kg_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_build(kg_copy, out).exit_code == 0
    before = (out / "dataset.nq").read_bytes()
    edit(kg_copy, GOOD_QUOTE, 'quote: "not in the text"')
    assert run_build(kg_copy, out).exit_code == 1
    assert (out / "dataset.nq").read_bytes() == before


def test_a_new_source_needs_no_code_change(kg_copy: Path, tmp_path: Path) -> None:
    new = kg_copy / "sources" / "second-source"
    new.mkdir()
    text = "POEMS syndrome is rare.\n"
    (new / "text.txt").write_text(text)
    import hashlib
    meta = (KG_DIR / "sources/poems-cause-summary/metadata.yaml").read_text().split("# Sentences")[0]
    meta = meta.replace("id: poems-cause-summary", "id: second-source").replace(
        "ff2048c2e8558f8cc1e585701c212829eb1ebc2ea5e1bcb78971897d53d1de8f", hashlib.sha256(text.encode()).hexdigest())
    (new / "metadata.yaml").write_text(meta)
    (kg_copy / "claims" / "second-source.yaml").write_text(
        "source: second-source\ncreated: 2026-11-24\ncreator: poems:curation-team\nclaims:\n"
        "  - key: second-rare\n    subject: MONDO:0017364\n    predicate: biolink:has_attribute\n    object: MONDO:0021136\n"
        "    direction: supports\n    certainty: established\n    evidence: ECO:0000303\n"
        "    quote: POEMS syndrome is rare\n    note: Second source.\n")
    result = run_build(kg_copy, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "second-source" in (tmp_path / "out" / "dataset.nq").read_text()


def test_a_quote_not_in_the_source_names_the_closest_passage_and_where_it_differs(kg_copy: Path, tmp_path: Path) -> None:
    line = edit(kg_copy, GOOD_QUOTE, 'quote: "caused by an underlying plasma cell dyscrazia"')
    result = run_build(kg_copy, tmp_path / "out")
    said = " ".join(result.stderr.split())
    assert result.exit_code == 1 and f"{CLAIMS}:{line}:" in said
    assert "the closest passage, at line 2 of text.txt, is 'caused by an underlying plasma cell dyscrasia'" in said
    assert "they differ at character 43 of the quote: the text has 's', the quote 'z'" in said
    assert not (tmp_path / "out").exists()


def test_a_quote_inside_an_out_of_scope_passage_is_refused_with_both_lines(kg_copy: Path, tmp_path: Path) -> None:
    """The metadata says the analogy yields no claim; a claim quoting it would make the dataset say both."""
    line = edit(kg_copy, GOOD_QUOTE, 'quote: "the \\"soldiers\\" of your immune system"')
    meta = kg_copy / "sources" / "poems-cause-summary" / "metadata.yaml"
    scope_line = meta.read_text().splitlines().index('  - quote: "Think of your plasma cells as the \\"soldiers\\" of your '
                                                     'immune system that produce antibodies."') + 1
    result = run_build(kg_copy, tmp_path / "out")
    said = " ".join(result.stderr.split())
    assert result.exit_code == 1 and f"{CLAIMS}:{line}:" in said and f"{meta}:{scope_line} lists as out of scope" in said
    assert "An analogy for lay readers" in said and not (tmp_path / "out").exists()


def test_validate_reports_a_sentence_no_claim_quotes_and_strict_refuses_it(kg_copy: Path) -> None:
    """A claim removed leaves its sentence uncovered: a warning with text.txt's line, an error with --strict."""
    claims = kg_copy / CLAIMS
    text = claims.read_text()
    start = text.index("  - key: poems-clonal-plasma-cells")
    end = text.index("  - key:", start + 10)
    claims.write_text(text[:start] + text[end:])
    loose = CliRunner().invoke(app, ["validate", "--kg-dir", str(kg_copy)])
    said = " ".join(loose.stderr.split())
    assert loose.exit_code == 0 and "warning:" in said
    assert f"{kg_copy / 'sources' / 'poems-cause-summary' / 'text.txt'}:5: no claim quotes this sentence" in said
    assert "'In POEMS syndrome, a small, clonal population of these cells begins to malfunction.'" in said
    strict = CliRunner().invoke(app, ["validate", "--kg-dir", str(kg_copy), "--strict"])
    assert strict.exit_code == 1 and "error:" in strict.stderr


@pytest.mark.parametrize(("content", "line", "says"), [
    (b"line one\nsecond \xff line\n", 2, "text.txt is not UTF-8: byte 0xff at offset 16"),
    (b"  \n", 1, "text.txt is empty"),
], ids=["not-utf-8", "empty"])
def test_a_source_text_that_cannot_be_read_is_named_with_its_line(kg_copy: Path, tmp_path: Path, content: bytes, line: int,
                                                                   says: str) -> None:
    """Even with its sha256 updated to match, a text that is not UTF-8 or is empty is refused, never a traceback."""
    folder = kg_copy / "sources" / "poems-cause-summary"
    (folder / "text.txt").write_bytes(content)
    meta = (folder / "metadata.yaml").read_text()
    old = next(row for row in meta.splitlines() if row.startswith("sha256: "))
    (folder / "metadata.yaml").write_text(meta.replace(old, f"sha256: {hashlib.sha256(content).hexdigest()}"))
    result = run_build(kg_copy, tmp_path / "out")
    said = " ".join(result.stderr.split())
    assert result.exit_code == 1 and f"{folder / 'text.txt'}:{line}: {says}" in said and "Traceback" not in said
    assert not (tmp_path / "out").exists()
