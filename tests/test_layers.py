"""One direction through the code: the import contracts of ``pyproject.toml`` (import-linter) hold, and no two
modules import each other, directly or through others (grimp's graph of the packages' imports, lazy ones included)."""

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kg", "pipeline", "api", "ontology", "shapes")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=folder, capture_output=True, text=True, timeout=300,
                          check=False, env={"PYTHONPATH": str(folder), "PATH": ""})


def test_every_import_contract_is_kept() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0 and "4 kept, 0 broken" in run.stdout, run.stdout[-3000:]


@pytest.mark.parametrize(("module", "line", "contract", "chain"), [
    ("kg/model.py", "import api.app", "Layers: the core at the bottom", "kg.model -> api.app"),
    ("pipeline/readers/text.py", "import pipeline.readers.table", "No source reader imports another",
     "pipeline.readers.text -> pipeline.readers.table"),
])
def test_an_import_against_the_layers_breaks_its_contract(tmp_path: Path, module: str, line: str, contract: str,
                                                          chain: str) -> None:
    """The check can fail: the data model importing the web package, or one reader another, is reported with its chain."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("static", "imports", "sources", "node_modules"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / module).open("a", encoding="utf-8") as source:
        source.write(f"\n{line}  # noqa\n")
    run = lint_imports(tmp_path)
    assert run.returncode == 1 and "Broken contracts" in run.stdout, run.stdout[-3000:]
    broken = run.stdout[run.stdout.index("Broken contracts"):]
    assert contract in broken and chain in broken, broken


def test_no_two_modules_import_each_other() -> None:
    graph = grimp.build_graph(*PACKAGES)
    cycles = sorted({tuple(sorted((a, b))) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
                     if graph.chain_exists(importer=b, imported=a)})
    assert cycles == []
