"""``kgx validate`` on KGX JSON Lines files, offline, in the validator's own environment (see the Makefile).

Usage: python kgx_validate.py BIOLINK_MODEL_DIR FILE...
BIOLINK_MODEL_DIR is the ``biolink_model`` folder of the pinned ``biolink-model`` wheel. Prints JSON: ``errors`` as
kgx reports them (level -> error type -> message -> offending ids) and ``network``, every connection attempted (and
refused). Left alone, kgx downloads three things at start: bmt's Biolink YAML and predicate map, and Biolink's JSON-LD
context (from which it takes the CURIE prefixes it accepts). It is given the wheel's YAML, an empty predicate map
(validation does not read it) and a context of the wheel's own prefix map.
"""

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from offline import bmt_without_network, offline


def main(model: Path, files: list[str]) -> dict[str, Any]:
    """Validate ``files`` against the Biolink model in ``model``."""
    attempts: list[str] = []
    offline(attempts)
    prefixes = json.loads((model / "prefixmaps" / "biolink-model-prefix-map.json").read_text(encoding="utf-8"))
    context = Path(tempfile.mkdtemp()) / "context.jsonld"
    context.write_text(json.dumps({"@context": prefixes}), encoding="utf-8")

    bmt_without_network(str(model / "schema" / "biolink_model.yaml"))
    import kgx.config

    kgx.config.get_config()["jsonld-context"]["biolink"] = str(context)

    from kgx.cli.cli_utils import validate

    return {"errors": validate(files, "jsonl", None, None, None), "network": attempts}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2:]), default=sorted))
