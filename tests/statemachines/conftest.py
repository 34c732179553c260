"""Fixtures: one moto server per test session, with Step Functions execution switched on.

The server is started from `.venv/bin/moto_server` on a free loopback port with `MOTO_PORT` set
(moto's SDK integrations call back into the server through it), and stopped at the end.
A missing server is an error, never a skip.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import MotoServer, SnsCapture  # noqa: E402


@pytest.fixture(scope="session")
def moto():
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sfn(moto):
    return moto.client("stepfunctions")


@pytest.fixture()
def sns_capture(moto):
    return SnsCapture(moto)
