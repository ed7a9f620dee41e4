"""Trusty URIs (module RA) and signatures of nanopublications, as the nanopublication tools compute and check them.

A nanopublication is compiled under a placeholder IRI; its quads are normalized (the nanopublication's IRI replaced
by ``<namespace> `` and the fragment kept, literals written with their datatype or language, quads sorted), the
SHA-256 of that text in URL-safe base64 gives the code ``RA…``, and the placeholder is renamed to
``<namespace>RA…``. A signature is the RSA (PKCS#1 v1.5, SHA-256) signature of the same normalization, taken before
the code is computed, so that the code covers the signature too. ``nanopub-sign`` (the reference implementation)
verifies both; the tests run it on every claim.
"""

import base64
import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pyoxigraph import BlankNode, Literal, NamedNode, Quad

NPX = "http://purl.org/nanopub/x/"
PLACEHOLDER = "trusty-placeholder"  # the last path segment of a nanopublication's IRI until its code is known
SEPARATOR = "#"  # between a nanopublication's IRI and the name of its parts: <np>#assertion


class SigningError(RuntimeError):
    """The private key cannot be read, or is not an RSA key."""


def _fragment(iri: str) -> str:
    """The reference implementation's fix of a normalized IRI: the part after the space starts with the separator."""
    if " " not in iri:
        return iri
    head, _, last = iri.rpartition(" ")
    if iri.endswith(" " + SEPARATOR) or not last:
        return iri.removesuffix(SEPARATOR)
    return iri if last.startswith(SEPARATOR) else f"{head} {SEPARATOR}{last}"


def normalized(quads: list[Quad], iri: str, namespace: str) -> str:
    """The text a nanopublication's code and signature are computed over (``iri``: its IRI, placeholder or code)."""
    blank = " "
    own = namespace + blank

    def node(term: NamedNode | BlankNode) -> str:
        value = term.value
        return own if value == iri else _fragment(value.replace(iri, own))

    rows = []
    for q in quads:
        assert isinstance(q.graph_name, NamedNode) and not isinstance(q.subject, BlankNode), "nanopublications name every node"
        obj = q.object
        if isinstance(obj, Literal):
            lang, datatype = obj.language or "", obj.datatype.value
            value = obj.value.replace("\\", "\\\\").replace("\n", "\\n")
        else:
            lang, datatype, value = "", "", node(obj)  # type: ignore[arg-type]
        rows.append((_fragment(q.graph_name.value.replace(iri, own)), node(q.subject),  # type: ignore[arg-type]
                     q.predicate.value.replace(iri, own), lang, datatype, value))
    rows.sort()
    return "".join(f"{g}\n{s}\n{p}\n{f'@{lang} ' if lang else f'^{dt} ' if dt else ''}{value}\n"
                   for g, s, p, lang, dt, value in rows)


def code(quads: list[Quad], iri: str, namespace: str) -> str:
    """The Trusty URI code (``RA`` + URL-safe base64 of the SHA-256 of the normalized quads, without padding)."""
    digest = hashlib.sha256(normalized(quads, iri, namespace).encode()).digest()
    return "RA" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def rename(quads: list[Quad], old: str, new: str) -> list[Quad]:
    """The quads with every IRI that starts with ``old`` (the nanopublication and its parts) starting with ``new``."""
    def swap(term):  # type: ignore[no-untyped-def]
        return NamedNode(new + term.value[len(old):]) if isinstance(term, NamedNode) and term.value.startswith(old) else term
    return [Quad(swap(q.subject), q.predicate, swap(q.object), swap(q.graph_name)) for q in quads]


@dataclass(frozen=True)
class Signer:
    """Who signs, and the RSA private key they sign with (a PEM file that is never served, logged or stored)."""

    identity: str  # an ORCID or an agent IRI: npx:signedBy
    key_file: Path

    @cached_property
    def _key(self) -> Any:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        try:
            key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise SigningError(f"cannot read the signing key {self.key_file}: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SigningError(f"the signing key {self.key_file} is not an RSA key")
        return key

    @cached_property
    def public_key(self) -> str:
        """The public key as the nanopublication tools write it: base64 of the DER SubjectPublicKeyInfo."""
        from cryptography.hazmat.primitives import serialization

        der = self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    def sign(self, quads: list[Quad], iri: str, namespace: str, pubinfo: NamedNode) -> list[Quad]:
        """The quads with the signature statements of the nanopublication tools added to its publication info."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        sig = NamedNode(iri + SEPARATOR + "sig")
        signed = [*quads,
                  Quad(sig, NamedNode(NPX + "hasPublicKey"), Literal(self.public_key), pubinfo),
                  Quad(sig, NamedNode(NPX + "hasAlgorithm"), Literal("RSA"), pubinfo),
                  Quad(sig, NamedNode(NPX + "hasSignatureTarget"), NamedNode(iri), pubinfo),
                  Quad(sig, NamedNode(NPX + "signedBy"), NamedNode(self.identity), pubinfo)]
        signature = self._key.sign(normalized(signed, iri, namespace).encode(), padding.PKCS1v15(), hashes.SHA256())
        return [*signed, Quad(sig, NamedNode(NPX + "hasSignature"), Literal(base64.b64encode(signature).decode()), pubinfo)]


def configured_signer(key_file: Path | None, identity: str | None) -> Signer | None:
    """The signer the settings name (both the key file and the identity), or None; ``SigningError`` if only one is set."""
    if key_file is None and identity is None:
        return None
    if key_file is None or identity is None:
        raise SigningError("signing needs both POEMS_KG_SIGN_KEY_FILE and POEMS_KG_SIGNER")
    signer = Signer(identity, key_file)
    _ = signer.public_key  # fail now, not at the first write, on a key that cannot be read
    return signer


def make_key(path: Path) -> str:
    """Write a new 2048-bit RSA private key (PEM, readable by its owner only) to ``path``; return the public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.touch(mode=0o600, exist_ok=False)
    path.write_bytes(pem)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()
