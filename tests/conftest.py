"""Shared fixtures: a CliRunner and the bundled example specs."""

from pathlib import Path

import pytest
from click.testing import CliRunner

EXAMPLES = Path(__file__).resolve().parent.parent / "problem_banks" / "examples"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def examples() -> Path:
    return EXAMPLES
