"""Provider test fixtures: a real loopback HTTP server per test (tests/providers/http_server.py)."""

from __future__ import annotations

import pytest

from tests.providers.http_server import LoopbackServer


@pytest.fixture
def http_server():
    server = LoopbackServer().start()
    yield server
    server.stop()
