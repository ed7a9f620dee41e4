"""The redirect rules that w3id.org needs for the base IRI: each kind of IRI poems-kg mints, sent to the server.

w3id.org serves ``https://w3id.org/<name>/`` from an Apache ``.htaccess`` in its repository (perma-id/w3id.org);
``poems-kg w3id-rules --server https://host.example`` writes that file for a deployment. The server then answers
each IRI itself (content negotiation, ``303`` for things, ``200`` for documents), so the rules only forward, keeping
the path and the query string (Apache appends it when the target has none).
"""

# (pattern relative to the base, target path on the server, what the IRIs name)
RULES: tuple[tuple[str, str, str], ...] = (
    (r"^$", "/", "the dataset's home page"),
    (r"^(id|np|source)/(.+)$", "/$1/$2", "minted entities, claims (nanopublications) and source documents"),
    (r"^entity/(.+)$", "/entity/$1", "pages of external terms (MONDO, HP, ...) as poems-kg knows them"),
    (r"^(ontology|context\.jsonld|void|sparql)$", "/$1", "the ontology, the JSON-LD context, VoID, the SPARQL service"),
    (r"^dumps/(.*)$", "/dumps/$1", "downloads of the whole dataset"),
)


def rules(server: str) -> str:
    """The ``.htaccess`` for ``https://w3id.org/<name>/`` forwarding to ``server`` (its URL, no trailing slash)."""
    server = server.rstrip("/")
    lines = ["# poems-kg: permanent identifiers under this w3id.org folder, forwarded to the server that answers them.",
             f"# Written by `poems-kg w3id-rules --server {server}`.", "Options +FollowSymLinks", "RewriteEngine on", ""]
    for pattern, target, what in RULES:
        lines += [f"# {what}", f"RewriteRule {pattern} {server}{target} [R=302,L]"]
    return "\n".join(lines) + "\n"
