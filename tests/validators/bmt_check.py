"""The Biolink table of ``ontology/biolink.yaml`` checked with bmt (the Biolink Model Toolkit), offline, in kgx's
environment (see the Makefile).

Usage: python bmt_check.py BIOLINK_MODEL_DIR TABLE_JSON
TABLE_JSON holds ``categories`` (CURIEs), ``predicates`` (the exchanged edges' predicates), ``associations`` (rows of
subject category, predicate, object category, class) and ``edges`` (the exchanged edges' subject category, predicate
and object category). Prints JSON: what bmt does not accept, and every network
connection attempted (and refused).
"""

import json
import sys
from pathlib import Path
from typing import Any

from offline import bmt_without_network, offline


def main(model: Path, table: dict[str, Any]) -> dict[str, Any]:
    """What bmt refuses in ``table``: categories that are no Biolink category, predicates that are no Biolink
    predicate, association classes the model does not admit for their row, edges whose subject or object category is
    outside its predicate's domain or range."""
    attempts: list[str] = []
    offline(attempts)
    import bmt.toolkit

    bmt_without_network(str(model / "schema" / "biolink_model.yaml"))
    toolkit = bmt.toolkit.Toolkit()
    return {
        "categories": [c for c in table["categories"] if not toolkit.is_category(c)],
        "predicates": [p for p in table["predicates"] if not toolkit.is_predicate(p)],
        "associations": [row for row in table["associations"]
                         if row[3] not in toolkit.get_associations([row[0]], [row[1]], [row[2]], formatted=True)],
        "edges": [edge for edge in table["edges"] if not fits(toolkit, *edge)],
        "network": attempts,
    }


def fits(toolkit: Any, subject: str, predicate: str, obj: str) -> bool:
    """Whether the categories are within the predicate's domain and range (or it has none), mixins included."""
    slot = toolkit.get_element(predicate)
    return all(bound is None or bound in toolkit.get_ancestors(category, formatted=False, mixin=True)
               for bound, category in ((slot.domain, subject), (slot.range, obj)))


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")))))
