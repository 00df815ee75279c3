"""The gate's classification: which tests run on both engines (``db``) and which run once."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine


def test_a_test_without_database_fixtures_is_not_a_database_test(
    request: pytest.FixtureRequest,
) -> None:
    assert request.node.get_closest_marker("db") is None


async def test_a_test_on_the_engine_is_a_database_test(
    request: pytest.FixtureRequest, engine: AsyncEngine
) -> None:
    assert request.node.get_closest_marker("db") is not None


def test_a_test_on_a_fresh_database_is_a_database_test(
    request: pytest.FixtureRequest, fresh_database_url: str
) -> None:
    assert request.node.get_closest_marker("db") is not None


@pytest.fixture
def indirectly(database_url: str) -> str:
    return database_url


def test_a_fixture_on_the_database_makes_a_database_test(
    request: pytest.FixtureRequest, indirectly: str
) -> None:
    assert request.node.get_closest_marker("db") is not None
