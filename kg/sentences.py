"""How a statement reads in English: the one table of ``ontology/sentences.yaml``, a sentence per predicate.

Every page, card and JSON answer that writes a statement out takes it from here, with the direction's own words
before it (``kg.direction``), so that a statement reads the same everywhere and its direction is never lost.
"""

import re
from functools import lru_cache

from ruamel.yaml import YAML

from kg.direction import Direction
from kg.namespaces import Namespaces
from kg.terms import ONTOLOGY_DIR

SENTENCES_FILE = ONTOLOGY_DIR / "sentences.yaml"
PLACEHOLDER = re.compile(r"\{(subject|object)\}")


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    """Predicate CURIE -> sentence with ``{subject}`` and ``{object}``."""
    return {str(k): str(v) for k, v in YAML(typ="safe").load(SENTENCES_FILE.read_text(encoding="utf-8")).items()}


def template(predicate: str, ns: Namespaces, label: str | None = None) -> str:
    """The sentence of a predicate (IRI): the table's, or ``{subject} <label> {object}`` for one it lacks."""
    found = _table().get(ns.compact(predicate))
    return found or f"{{subject}} {label or ns.compact(predicate)} {{object}}"


def parts(predicate: str, ns: Namespaces, label: str | None = None) -> list[str]:
    """The sentence cut at its ends: text, ``"subject"`` or ``"object"`` in turn (pages put a link at each end)."""
    return [p for p in PLACEHOLDER.split(template(predicate, ns, label)) if p]


def statement(predicate: str, subject: str, obj: str, ns: Namespaces, label: str | None = None) -> str:
    """The statement in plain words, e.g. ``POEMS syndrome is associated with Ascites``."""
    return PLACEHOLDER.sub(lambda m: subject if m[1] == "subject" else obj, template(predicate, ns, label))


def sentence(direction: Direction, predicate: str, subject: str, obj: str, ns: Namespaces, label: str | None = None) -> str:
    """The claim as one sentence with its direction's lead, e.g. ``The source disputes that POEMS syndrome ...``."""
    return f"{direction.lead} {statement(predicate, subject, obj, ns, label)}."
