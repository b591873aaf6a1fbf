"""Where the real feed corpus is, and how tests read it.

The corpus lives beside the repository (`../shared/feeds/real`) or where
STATUS_FEEDS_CORPUS points. A missing corpus fails the tests that use it: skipping
would let the parsers go untested against real feeds without anyone noticing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
CORPUS = Path(
    os.environ.get("STATUS_FEEDS_CORPUS")
    or REPOSITORY.parent / "shared" / "feeds" / "real"
)


def corpus_file(name: str) -> bytes:
    """Return the bytes of a corpus file; fail the test when it is missing."""
    if not CORPUS.is_dir():
        pytest.fail(
            f"feed corpus not found at {CORPUS}: check out shared/feeds/real "
            "beside the repository or set STATUS_FEEDS_CORPUS"
        )
    path = CORPUS / name
    if not path.is_file():
        pytest.fail(f"corpus file {name} is missing from {CORPUS}")
    return path.read_bytes()
