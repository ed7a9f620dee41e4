"""Reading SPARQL text without parsing it: which keywords it uses outside comments, IRIs and strings."""

import re

# Comments, IRIs and string literals, which may contain any word without meaning it.
NOISE = re.compile("|".join((
    r"#[^\n]*",                                   # comment
    r"<[^<>\"{}|^`\\\s]*>",                        # IRI
    r'"""(?:[^"\\]|\\.|"(?!""))*"""',               # long string, double quotes
    r"'''(?:[^'\\]|\\.|'(?!''))*'''",     # long string, single quotes
    r'"(?:[^"\\\n]|\\.)*"',                       # string, double quotes
    r"'(?:[^'\\\n]|\\.)*'",                     # string, single quotes
)))


def mentions(keyword: re.Pattern[str], sparql: str) -> bool:
    """Whether ``keyword`` occurs as a word of the SPARQL text itself (not in a comment, IRI or string).

    >>> mentions(re.compile("CONSTRUCT"), 'SELECT * WHERE { ?s ?p "CONSTRUCT" } # CONSTRUCT')
    False
    """
    return bool(keyword.search(NOISE.sub(" ", sparql)))


def nesting_depth(sparql: str) -> int:
    """How deeply groups and expressions nest (``{``, ``(``, ``[``) in the SPARQL text itself.

    >>> nesting_depth('SELECT * WHERE { { ?s ?p "{{{" } FILTER((?p)) }')
    3
    """
    depth = deepest = 0
    for char in NOISE.sub(" ", sparql):
        if char in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "})]":
            depth -= 1
    return deepest


LATERAL = re.compile(r"\bLATERAL\s*\{\s*(?=OPTIONAL\b)")


def without_lateral(sparql: str) -> str:
    """The SPARQL 1.1 form of a query whose ``LATERAL { OPTIONAL { X } }`` blocks become ``OPTIONAL { X }``.

    The two mean the same when X's variables are bound, if at all, by the pattern before it, as in the named queries;
    LATERAL (Oxigraph, Jena) has the engine look X up per row instead of joining it over the whole store. Comments,
    IRIs and strings are skipped when matching braces.

    >>> without_lateral('SELECT * { ?s ?p ?o LATERAL { OPTIONAL { ?s <x:y> "}" } } }  # LATERAL { OPTIONAL')
    'SELECT * { ?s ?p ?o OPTIONAL { ?s <x:y> "}" } }  # LATERAL { OPTIONAL'
    """
    while match := LATERAL.search(plain := NOISE.sub(lambda m: " " * len(m[0]), sparql)):
        depth, at = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(plain[at], 0)
            at += 1
        closing = at - 1  # the LATERAL block's own closing brace
        sparql = sparql[:match.start()] + sparql[match.end():closing].rstrip() + sparql[closing + 1:]
    return sparql


SYNTAX_POSITION = re.compile(r"error at (\d+):(\d+): (.*)", re.S)


def syntax_error(message: str, sparql: str) -> str:
    """The engine's syntax error in one readable line: where (line, column), near what, and what it expected.

    >>> syntax_error("error at 1:28: expected one of Prefix not found, ['%']", 'SELECT * WHERE { ?s foo:bar ?o }')
    "line 1, column 28: the prefix 'foo:' is not declared (add PREFIX foo: <...>)"
    >>> syntax_error('error at 1:27: expected one of ",", ".", "}", [_]', 'SELECT * WHERE { ?s ?p ?o ')
    "line 1, column 27: expected one of , . } (after '?o', at the end of the query)"
    """
    found = SYNTAX_POSITION.match(message.strip())
    if not found:
        return " ".join(message.split())
    line, column, expected = int(found[1]), int(found[2]), found[3]
    lines = sparql.splitlines() or [""]
    before = lines[line - 1][:column - 1] if line <= len(lines) else ""
    where = f"line {line}, column {column}: "
    if "Prefix not found" in expected:
        prefix = re.search(r"([A-Za-z][\w.-]*)?:[\w.%-]*$", before)
        name = prefix[1] or "" if prefix else ""
        return where + f"the prefix '{name}:' is not declared (add PREFIX {name}: <...>)"
    tokens = re.findall(r'"([^"]+)"', expected)
    rest = "\n".join(lines)[sum(len(x) + 1 for x in lines[:line - 1]) + column - 1:].strip()
    last = before.split()[-1][-40:] if before.split() else ""
    near = f"near '{rest.split()[0][:40]}'" if rest else f"after '{last}', at the end of the query"
    return where + (f"expected one of {' '.join(tokens)} ({near})" if tokens else f"unexpected input ({near})")
