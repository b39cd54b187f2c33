"""``--self-signed``'s certificate made with the ``openssl`` command (no cryptography)."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

import pytest

from ketch.server import devcert

if TYPE_CHECKING:
    from pathlib import Path

needs_openssl = pytest.mark.skipif(
    devcert.shutil.which("openssl") is None, reason="no openssl command"
)


@needs_openssl
def test_openssl_makes_a_certificate_for_localhost(tmp_path: Path) -> None:
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    pem = devcert._with_openssl(certfile, keyfile)
    assert pem == certfile.read_bytes()
    assert keyfile.stat().st_mode & 0o777 == 0o600
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)  # the key matches the certificate
    decoded = ssl._ssl._test_decode_cert(str(certfile))  # type: ignore[attr-defined]
    assert ("DNS", "localhost") in decoded["subjectAltName"]
    assert ("IP Address", "127.0.0.1") in decoded["subjectAltName"]
    assert decoded["subject"] == ((("commonName", "localhost"),),)


def test_without_openssl_or_cryptography_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no openssl on the PATH
    with pytest.raises(devcert.DevCertificateError, match="pip install cryptography"):
        devcert._with_openssl(tmp_path / "c.pem", tmp_path / "k.pem")


@needs_openssl
def test_an_openssl_failure_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "cert.pem"
    with pytest.raises(devcert.DevCertificateError, match="openssl could not make") as caught:
        devcert._with_openssl(missing, tmp_path / "no-such-dir" / "key.pem")
    assert "\n" not in str(caught.value)
