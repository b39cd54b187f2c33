"""Development certificates made on the fly (``--self-signed``).

A self-signed certificate for ``localhost``, ``127.0.0.1`` and ``::1`` (an ECDSA P-256 key, valid
for 30 days), made with the ``cryptography`` package when it is installed, else with the
``openssl`` command.  Clients must be told to trust it (``curl -k``, ``httpx.get(...,
verify=False)``) or to pin its SHA-256 fingerprint, which the server logs at start-up.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import ipaddress
import os
import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import KetchError

__all__ = ["DevCertificate", "DevCertificateError", "make_dev_certificate"]

HOSTS = ("localhost", "127.0.0.1", "::1")
DAYS = 30


class DevCertificateError(KetchError):
    """No way to make a certificate: neither ``cryptography`` nor ``openssl`` is available."""


@dataclass(frozen=True)
class DevCertificate:
    """A certificate and its key, written as PEM files (mode 0600) in a private directory.

    Attributes:
        certfile: the certificate.
        keyfile: its unencrypted private key.
        fingerprint: the SHA-256 fingerprint of the certificate, ``AB:CD:...``.
    """

    certfile: str
    keyfile: str
    fingerprint: str

    def remove(self) -> None:
        """Delete the files and their directory."""
        shutil.rmtree(os.path.dirname(self.certfile), ignore_errors=True)


def make_dev_certificate(directory: str | None = None) -> DevCertificate:
    """Make a self-signed certificate for localhost in `directory` (default: a new temporary one).

    Raises:
        DevCertificateError: neither ``cryptography`` nor the ``openssl`` command is available, or
            ``openssl`` failed.
    """
    where = Path(directory or tempfile.mkdtemp(prefix="ketch-cert-"))  # mkdtemp: mode 0700
    certfile, keyfile = where / "localhost.pem", where / "localhost-key.pem"
    for path in (certfile, keyfile):
        # Created empty with mode 0600 before anything secret is written into them.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    try:
        cert_pem = _with_cryptography(keyfile)
    except ImportError:
        cert_pem = _with_openssl(certfile, keyfile)
    else:
        certfile.write_bytes(cert_pem)
    der = ssl.PEM_cert_to_DER_cert(cert_pem.decode("ascii"))
    digest = hashlib.sha256(der).hexdigest().upper()
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    return DevCertificate(str(certfile), str(keyfile), fingerprint)


def _with_cryptography(keyfile: Path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    sans: list[x509.GeneralName] = [x509.DNSName("localhost")]
    sans += [x509.IPAddress(ipaddress.ip_address(host)) for host in HOSTS[1:]]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(key, hashes.SHA256())
    )
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _with_openssl(certfile: Path, keyfile: Path) -> bytes:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise DevCertificateError(
            "--self-signed needs the 'cryptography' package (pip install cryptography) "
            "or the openssl command"
        )
    command = [
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(keyfile), "-out", str(certfile), "-days", str(DAYS),
        "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
        "-addext", "extendedKeyUsage=serverAuth",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DevCertificateError(f"openssl could not make a certificate: {last}")
    with contextlib.suppress(OSError):
        os.chmod(keyfile, 0o600)
    return certfile.read_bytes()
