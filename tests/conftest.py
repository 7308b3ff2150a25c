"""Shared test fixtures. Areas append their own small fixtures below; keep each block short."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_specs() -> Path:
    """../shared/specs, or a skip with the reason printed when the folder is absent."""
    specs = SHARED / "specs"
    if not specs.is_dir():
        print(f"SKIP: {specs} is absent; contract tests need ../shared beside the clone")
        pytest.skip(f"{specs} is absent")
    return specs


# -- state store backends (engine area) ---------------------------------------------------

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_pg_status: dict[str, str | None] = {}


def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used (None when it can); asked once per test run."""
    if "reason" not in _pg_status:
        try:
            import psycopg

            psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=3).close()
            _pg_status["reason"] = None
        except Exception as exc:
            _pg_status["reason"] = f"PostgreSQL at 127.0.0.1:5432 unreachable: {exc}"
    return _pg_status["reason"]


@pytest.fixture
def pg_url():
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    import uuid

    import psycopg

    reason = postgres_unreachable()
    if reason:
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    schema = f"syncd_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    yield url
    from syncd.http.limits import close_backend

    close_backend(url)  # the rate limiters' tables go with the schema
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request, tmp_path):
    """The state database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("pg_url")
