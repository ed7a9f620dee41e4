"""The w3id.org redirect rules send every kind of poems-kg IRI to the server path that answers it."""

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kg.settings import DEFAULT_BASE_IRI
from pipeline.build import Build
from pipeline.cli import app as cli

SERVER = "https://kg.example.org"


def redirect(htaccess: str, iri: str) -> str | None:
    """Where Apache's mod_rewrite sends ``iri`` under these rules: the first matching RewriteRule, ``$n`` substituted,
    the query string kept; None when no rule matches (w3id.org answers 404)."""
    path, _, query = iri.removeprefix(DEFAULT_BASE_IRI).partition("?")
    for pattern, target in re.findall(r"^RewriteRule (\S+) (\S+) \[R=30[23],L\]$", htaccess, flags=re.M):
        found = re.match(pattern, path)
        if found:
            url = found.expand(re.sub(r"\$(\d)", r"\\\1", target))  # Apache's $1 is Python's \1
            return url + ("?" + query if query else "")
    return None


@pytest.mark.parametrize("kind", ["home", "id", "entity", "np", "source", "ontology", "context", "dumps", "void", "sparql"])
def test_each_kind_of_iri_is_forwarded_to_the_server_path_that_answers_it(seed_client: TestClient, seed: Build, kind: str) -> None:
    written = CliRunner().invoke(cli, ["w3id-rules", "--server", SERVER])
    assert written.exit_code == 0, written.output
    iri = DEFAULT_BASE_IRI + {
        "home": "", "id": "id/cytokine-overproduction", "entity": "entity/MONDO:0017364",
        "np": seed.iris["pcd-causes-poems"].removeprefix(DEFAULT_BASE_IRI), "source": "source/poems-cause-summary",
        "ontology": "ontology", "context": "context.jsonld", "dumps": "dumps/dataset.trig.gz", "void": "void",
        "sparql": "sparql?query=ASK%7B%7D"}[kind]
    target = redirect(written.output, iri)
    assert target is not None and target.startswith(SERVER + "/"), f"{iri} is not forwarded"
    parts = urlsplit(target)
    answer = seed_client.get(parts.path, params=parts.query or None, follow_redirects=False)
    assert answer.status_code in (200, 303), f"{iri} -> {target}: {answer.status_code}"


def test_the_rules_forward_nothing_else_and_need_a_server_url() -> None:
    written = CliRunner().invoke(cli, ["w3id-rules", "--server", SERVER]).output
    assert redirect(written, DEFAULT_BASE_IRI + "admin/secrets") is None
    refused = CliRunner().invoke(cli, ["w3id-rules", "--server", "kg.example.org"])
    assert refused.exit_code == 2 and "http(s) URL" in refused.output
