"""RDF from outside (uploads, imports, restores), parsed within limits on what it expands to, not only on its bytes.

One place for every door that parses RDF: the Graph Store endpoint, ``poems-kg import`` and ``poems-kg load --from``.

- RDF/XML may declare internal entities (ontology files abbreviate namespaces so), but every declared entity expanded
  (Oxigraph's parser expands each where it is declared, used or not) plus the document with every reference
  expanded must stay within ``max_xml_expansion_bytes`` more than its own size; external entities and parameter
  entities are refused. This is checked on the document's text before the parser sees it, so a "billion laughs"
  document is refused in microseconds and costs no memory.
- No literal may be longer than ``max_literal_chars``; a request may not hold more than ``max_request_quads``.

Each refusal is an ``InputLimitError`` that names the limit and its setting.
"""

import re
from collections.abc import Iterable, Iterator

from pyoxigraph import Literal, Quad, RdfFormat

ENTITY = re.compile(rb"<!ENTITY\s+(%\s*)?([^\s%]+)\s+(?:\"([^\"]*)\"|'([^']*)'|(SYSTEM|PUBLIC)\b)", re.S)
REFERENCE = re.compile(rb"&([A-Za-z_:][\w.:-]*);")
PREDEFINED = {b"lt", b"gt", b"amp", b"apos", b"quot"}
PROLOG_BYTES = 1 << 20  # a DTD longer than this is refused: no real RDF/XML needs one


class InputLimitError(ValueError):
    """Input that would expand beyond a limit; the message names the limit and its setting."""


def check_xml_entities(head: bytes, rest: Iterable[bytes], max_expansion: int) -> None:
    """Refuse an RDF/XML document (``head``: its start, ``rest``: the remaining chunks) whose entities expand too far.

    Only the internal subset of the DTD may declare entities; the expansion is computed, never performed.
    """
    start = head.find(b"<!DOCTYPE")
    if start < 0:
        return
    end = head.find(b"]>", start)
    if end < 0:
        raise InputLimitError(f"the RDF/XML document type declaration does not end within its first {PROLOG_BYTES} "
                              "bytes; poems-kg reads only short internal subsets")
    sizes: dict[bytes, bytes] = {}
    for match in ENTITY.finditer(head, start, end):
        parameter, name, value = match[1], match[2], match[3] if match[3] is not None else match[4]
        if parameter or match[5]:
            kind = "parameter" if parameter else "external"
            raise InputLimitError(f"the RDF/XML document declares the {kind} entity '{name.decode(errors='replace')}'; "
                                  "only internal general entities are read (nothing outside the document is fetched)")
        sizes[name] = value or b""
    expanded: dict[bytes, int] = {}

    def size(name: bytes, seen: tuple[bytes, ...]) -> int:
        if name in PREDEFINED:
            return 1
        if name not in sizes:
            raise InputLimitError(f"the RDF/XML document uses the undeclared entity '&{name.decode(errors='replace')};'")
        if name in seen:
            raise InputLimitError(f"the RDF/XML entity '{name.decode(errors='replace')}' refers to itself")
        if name not in expanded:
            value = sizes[name]
            expanded[name] = len(value) + sum(size(r[1], (*seen, name)) - len(r[0]) for r in REFERENCE.finditer(value))
            if expanded[name] > max_expansion:
                raise _too_large(max_expansion)
        return expanded[name]

    growth = 0
    for name in sizes:  # a parser may expand each declaration where it is declared, whether used or not
        growth += size(name, ())
        if growth > max_expansion:
            raise _too_large(max_expansion)
    for chunk in (head[end:], *rest):  # a reference split across chunks is not counted: chunks overlap by nothing
        for ref in REFERENCE.finditer(chunk):
            growth += size(ref[1], ()) - len(ref[0])
            if growth > max_expansion:
                raise _too_large(max_expansion)


def _too_large(limit: int) -> InputLimitError:
    return InputLimitError(f"the RDF/XML document's entities expand it by more than {limit} bytes "
                           "(setting POEMS_KG_MAX_XML_EXPANSION_BYTES)")


def bounded(quads: Iterable[Quad], max_literal: int, max_quads: int | None = None) -> Iterator[Quad]:
    """The quads, refusing a literal longer than ``max_literal`` characters or more than ``max_quads`` of them."""
    for count, quad in enumerate(quads, start=1):
        if max_quads is not None and count > max_quads:
            raise InputLimitError(f"more than {max_quads} triples in one request (setting POEMS_KG_MAX_REQUEST_QUADS); "
                                  "use `poems-kg import` for large files")
        if isinstance(quad.object, Literal) and len(quad.object.value) > max_literal:
            raise InputLimitError(f"a literal of {len(quad.object.value)} characters, longer than the limit of "
                                  f"{max_literal} (setting POEMS_KG_MAX_LITERAL_CHARS)")
        yield quad


def is_xml(fmt: RdfFormat | None) -> bool:
    """Whether a format is RDF/XML, the one whose parser reads entity declarations."""
    return fmt == RdfFormat.RDF_XML
