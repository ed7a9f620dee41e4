"""TRAPI responses and a meta knowledge graph checked with the Translator's own tools, offline, in their environment
(see the Makefile): reasoner-validator's Biolink checks of a knowledge graph (categories, predicates, sources,
attributes, qualifiers) and reasoner-pydantic's TRAPI models (the message's shape).

Usage: python trapi_validate.py BIOLINK_MODEL_DIR FILE...
Each FILE is a TRAPI response or a meta knowledge graph. Prints JSON: for each file, its ``errors`` (reasoner-validator's errors and critical messages, and reasoner-pydantic's validation errors)
and ``network``, every connection attempted (and refused). reasoner-validator would ping the standards server and
fetch the TRAPI schema from GitHub: neither is reachable here, so its TRAPI schema check is replaced by
reasoner-pydantic's models; its Biolink checks read the pinned biolink-model wheel of its environment.
"""

import json
import sys
from pathlib import Path
from typing import Any

from offline import offline


def main(model: Path, paths: list[Path]) -> dict[str, Any]:
    """What the tools refuse in each response (or meta knowledge graph) of ``paths``."""
    attempts: list[str] = []
    offline(attempts)
    import bmt.toolkit
    import pydantic
    import reasoner_pydantic

    bmt.toolkit.Toolkit.__init__.__defaults__ = (str(model / "schema" / "biolink_model.yaml"), {"predicate mappings": []})
    from reasoner_validator.biolink import BiolinkValidator
    from reasoner_validator.report import TRAPIGraphType
    from reasoner_validator.trapi import TRAPISchemaValidator

    TRAPISchemaValidator._validation_metadata_checked = True  # no ping of the standards server
    return {"files": {str(path): check(json.loads(path.read_text(encoding="utf-8")), BiolinkValidator, TRAPIGraphType,
                                       reasoner_pydantic, pydantic) for path in paths},
            "network": attempts}


def check(document: dict[str, Any], BiolinkValidator: Any, TRAPIGraphType: Any, reasoner_pydantic: Any,  # noqa: N803
          pydantic: Any) -> dict[str, Any]:
    """The errors of one document: a TRAPI response (it has a message) or a meta knowledge graph."""
    kind = "response" if "message" in document else "meta"
    errors: list[dict[str, Any]] = []
    try:
        (reasoner_pydantic.Response if kind == "response" else reasoner_pydantic.MetaKnowledgeGraph).model_validate(document)
    except pydantic.ValidationError as exc:
        errors += [{"tool": "reasoner-pydantic", "code": ".".join(map(str, e["loc"])), "about": [e["msg"]]} for e in exc.errors()]
    validator = BiolinkValidator(trapi_version="1.5.0")
    if kind == "response":
        validator.check_biolink_model_compliance(document["message"]["knowledge_graph"], TRAPIGraphType.Knowledge_Graph)
    else:
        toolkit = validator.bmt
        errors += [{"tool": "bmt", "code": "not a Biolink category", "about": [c]} for c in document["nodes"]
                   if not toolkit.is_category(c)]
        errors += [{"tool": "bmt", "code": "not a Biolink predicate", "about": [e["predicate"]]} for e in document["edges"]
                   if not toolkit.is_predicate(e["predicate"])]
    for level in ("critical", "error"):
        for test in validator.get_all_messages().values():
            for target in test.values():
                for code, found in target.get(level, {}).items():  # identifier -> where it was found
                    errors.append({"tool": "reasoner-validator", "code": f"{level}: {code}", "about": sorted(found)})
    return {"errors": errors, "biolink_version": validator.get_biolink_version()}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])))
