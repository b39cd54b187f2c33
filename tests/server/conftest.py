"""Fixtures shared by the server tests."""

from __future__ import annotations

import pytest

from tests.support.tls import Certificates, make_certificates


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A CA, a server certificate (localhost, 127.0.0.1, ::1) and a client certificate."""
    return make_certificates(tmp_path_factory.mktemp("certs"))
