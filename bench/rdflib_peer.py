"""The rdflib peers of the SPARQL benchmark, each in its own process so that a slow query can be abandoned.

``python -m bench.rdflib_peer endpoint FILE PORT``: rdflib-endpoint serving FILE on 127.0.0.1:PORT.
``python -m bench.rdflib_peer engine FILE``: rdflib's own engine; reads one JSON query per stdin line and
answers ``{"seconds": ..., "bytes": ...}`` (evaluation plus serialization, timed in the process).
"""

import json
import sys
import time

from rdflib import Dataset


def load(path: str) -> Dataset:
    """The N-Quads file as a dataset whose default graph is the union of its graphs."""
    dataset = Dataset(default_union=True)
    dataset.parse(path, format="nquads")
    return dataset


def endpoint(path: str, port: int) -> None:
    """Serve with rdflib-endpoint."""
    import uvicorn
    from rdflib_endpoint import SparqlEndpoint

    uvicorn.run(SparqlEndpoint(graph=load(path)), host="127.0.0.1", port=port, log_level="warning")


def engine(path: str) -> None:
    """Answer queries from stdin with rdflib's engine."""
    dataset = load(path)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        query = json.loads(line)["query"]
        started = time.perf_counter()
        result = dataset.query(query)
        body = result.serialize(format="nt" if result.type in ("CONSTRUCT", "DESCRIBE") else "json") or b""
        print(json.dumps({"seconds": time.perf_counter() - started, "bytes": len(body)}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "endpoint":
        endpoint(sys.argv[2], int(sys.argv[3]))
    else:
        engine(sys.argv[2])
