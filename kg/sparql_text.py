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
