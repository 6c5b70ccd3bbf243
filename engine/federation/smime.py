"""S/MIME signatures of image lists: signing with the site's certificate, verifying a peer's.

A HEPiX image list travels as an S/MIME signed message (RFC 8551): the JSON
list as the first part of a ``multipart/signed`` body and a PKCS#7 detached
signature, made with the endorser's X.509 certificate, as the second. EGI's
subscribers (vmcatcher, cloudkeeper, atrope) verify it with ``openssl smime
-verify``; Concord signs with the ``cryptography`` library and verifies with
the same ``openssl smime -verify``, trusting the subscription's CA only (no
system store), so that what atrope accepts Concord accepts and the reverse.

Endorsers are named as these tools name them: a certificate's subject and
issuer in OpenSSL's one-line form, ``/C=EU/O=Example/CN=site``, attributes in
the order the certificate lists them.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from engine.errors import InvalidInput

#: OpenSSL's short names of the attributes ``rfc4514_attribute_name`` spells as an OID.
_SHORT_NAMES = {
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.GIVEN_NAME: "GN",
    NameOID.SURNAME: "SN",
    NameOID.TITLE: "title",
}
#: Seconds ``openssl smime -verify`` may take.
VERIFY_TIMEOUT = 30


class SignatureRefused(Exception):
    """The message's signature, chain or signer does not verify; ``str()`` says why."""


@dataclass(frozen=True)
class Endorser:
    """Who signed: the signing certificate's subject and issuer in OpenSSL one-line form."""

    dn: str
    ca: str


@dataclass(frozen=True)
class Verified:
    """A verified message: the signed content and who signed it."""

    content: bytes
    signer: Endorser


def one_line(name: x509.Name) -> str:
    """``name`` as OpenSSL's one-line form ``/C=EU/O=Example/CN=site`` (HEPiX ``hv:dn``)."""
    parts = []
    for attribute in name:
        label = _SHORT_NAMES.get(attribute.oid) or attribute.rfc4514_attribute_name
        value = attribute.value if isinstance(attribute.value, str) else attribute.value.hex()
        parts.append(f"/{label}={value}")
    return "".join(parts)


def endorser_of(certificate: x509.Certificate) -> Endorser:
    """The endorser a certificate names (its subject and its issuer)."""
    return Endorser(one_line(certificate.subject), one_line(certificate.issuer))


@dataclass(frozen=True)
class SigningIdentity:
    """The site's certificate (with any intermediate CAs after it) and its private key."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @property
    def endorser(self) -> Endorser:
        """Who this identity signs as."""
        return endorser_of(self.certificate)


def load_identity(certificate_file: Path, key_file: Path) -> SigningIdentity:
    """Read a PEM certificate (its chain after it) and its unencrypted PEM private key.

    :raises InvalidInput: a file is missing, is not PEM, or the key is not the certificate's.
    """
    try:
        certificates = x509.load_pem_x509_certificates(certificate_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {exc.filename}: {exc.strerror}", subject="image_list", reason="signing"
        ) from None
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            f"the image list's certificate or key is not usable: {exc}",
            subject="image_list",
            reason="signing",
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InvalidInput(
            "the image list's key must be an RSA or ECDSA key (PKCS#7 signers)",
            subject="image_list",
            reason="signing",
        )
    leaf = certificates[0]
    if leaf.public_key() != key.public_key():
        raise InvalidInput(
            "the image list's key does not belong to its certificate",
            subject="image_list",
            reason="signing",
        )
    return SigningIdentity(leaf, tuple(certificates[1:]), key)


def sign(payload: bytes, identity: SigningIdentity) -> bytes:
    """``payload`` as an S/MIME ``multipart/signed`` message with a detached PKCS#7 signature."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(payload)
    builder = builder.add_signer(identity.certificate, identity.key, hashes.SHA256())
    for certificate in identity.chain:
        builder = builder.add_certificate(certificate)
    return builder.sign(serialization.Encoding.SMIME, [pkcs7.PKCS7Options.DetachedSignature])


def verify(message: bytes, trusted_ca_pem: str) -> Verified:
    """Verify an S/MIME message against one trusted CA (and nothing else).

    The signature must match the content, and the signer's certificate must
    chain to ``trusted_ca_pem`` and be within its validity period (OpenSSL's
    S/MIME signing purpose, as atrope checks it).

    :raises SignatureRefused: with OpenSSL's reason.
    """
    with tempfile.TemporaryDirectory(prefix="concord-smime-") as directory:
        ca_file = Path(directory, "ca.pem")
        ca_file.write_text(trusted_ca_pem, encoding="ascii")
        signer_file = Path(directory, "signer.pem")
        try:
            done = subprocess.run(
                [  # noqa: S607 (openssl from PATH, as atrope runs it)
                    "openssl",
                    "smime",
                    "-verify",
                    "-CAfile",
                    str(ca_file),
                    "-no-CApath",
                    "-no-CAstore",
                    "-signer",
                    str(signer_file),
                ],
                input=message,
                capture_output=True,
                timeout=VERIFY_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SignatureRefused(f"openssl could not verify the signature: {exc}") from None
        if done.returncode != 0:
            reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise SignatureRefused(
                "the signature does not verify: " + " ".join(reason[:3])[:500]
                if reason
                else f"openssl exited with {done.returncode}"
            )
        signer = x509.load_pem_x509_certificate(signer_file.read_bytes())
    return Verified(done.stdout, endorser_of(signer))


def ca_subject(trusted_ca_pem: str) -> str:
    """The one-line subject of a PEM CA certificate (the endorser's expected ``hv:ca``).

    :raises InvalidInput: it is not a PEM certificate.
    """
    try:
        certificate = x509.load_pem_x509_certificate(trusted_ca_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise InvalidInput("the trusted CA is not a PEM certificate", field="ca") from None
    return one_line(certificate.subject)
