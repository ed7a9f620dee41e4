"""Backups: `poems-kg export` then `poems-kg load --from` restores an identical dataset; a bad dump changes nothing."""

from pathlib import Path

import pytest
from pyoxigraph import CanonicalizationAlgorithm, Dataset, RdfFormat, parse
from typer.testing import CliRunner

from kg.store import OxigraphStore
from pipeline.cli import app

runner = CliRunner()


def canonical(path: Path, fmt: RdfFormat) -> Dataset:
    dataset = Dataset(parse(path=str(path), format=fmt))
    dataset.canonicalize(CanonicalizationAlgorithm.UNSTABLE)  # blank node labels do not survive a round trip
    return dataset


@pytest.mark.parametrize(("ext", "fmt", "option"), [("nq", RdfFormat.N_QUADS, "nquads"), ("trig", RdfFormat.TRIG, "trig")])
def test_export_then_restore_round_trips(tmp_path: Path, ext: str, fmt: RdfFormat, option: str) -> None:
    original, restored = tmp_path / "original", tmp_path / "restored"
    assert runner.invoke(app, ["load", "--store", str(original)]).exit_code == 0
    backup, again = tmp_path / f"backup.{ext}", tmp_path / f"again.{ext}"
    assert runner.invoke(app, ["export", "--store", str(original), "--format", option, "--out", str(backup)]).exit_code == 0
    result = runner.invoke(app, ["load", "--store", str(restored), "--from", str(backup)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["export", "--store", str(restored), "--format", option, "--out", str(again)]).exit_code == 0
    assert canonical(backup, fmt) == canonical(again, fmt)
    assert len(OxigraphStore(restored)) > 1500


def test_a_corrupt_dump_is_refused_with_its_line_and_nothing_is_written(tmp_path: Path) -> None:
    backup = tmp_path / "backup.nq"
    assert runner.invoke(app, ["export", "--format", "nquads", "--out", str(backup)]).exit_code == 0
    lines = backup.read_text().splitlines()
    lines[9] = lines[9][: len(lines[9]) // 2]  # a write cut off in the middle of line 10
    backup.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["load", "--store", str(tmp_path / "store"), "--from", str(backup)])
    output = result.output.replace("\n", "")  # the console wraps long paths
    assert result.exit_code == 1 and str(backup) in output and "line 10" in output
    assert not (tmp_path / "store").exists()


def test_a_dump_with_an_altered_quote_is_refused(tmp_path: Path) -> None:
    backup = tmp_path / "backup.nq"
    assert runner.invoke(app, ["export", "--format", "nquads", "--out", str(backup)]).exit_code == 0
    text = backup.read_text().replace('"POEMS syndrome is not an inherited disease"', '"POEMS syndrome is an inherited disease"')
    backup.write_text(text)
    result = runner.invoke(app, ["load", "--store", str(tmp_path / "store"), "--from", str(backup)])
    assert result.exit_code == 1 and "not in the source text at the stated offsets" in result.output
    assert not (tmp_path / "store").exists()
