"""Shared fixtures: the seed knowledge graph built once per test session."""

from pathlib import Path

import pytest

from kg.build import Build, build
from kg.settings import DEFAULT_BASE_IRI, PACKAGE_ROOT
from kg.store import OxigraphStore

KG_DIR = PACKAGE_ROOT / "kg"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def seed() -> Build:
    return build(KG_DIR, DEFAULT_BASE_IRI)


@pytest.fixture(scope="session")
def store(seed: Build) -> OxigraphStore:
    s = OxigraphStore()
    s.load(seed.quads)
    return s
