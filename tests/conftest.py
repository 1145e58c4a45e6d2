"""Shared fixtures: a real, migrated database per test (SQLite by default, PostgreSQL when
ONEWINDOW_TEST_DATABASE_URL is set), a manual clock, and the demo-city catalogue."""

from __future__ import annotations

import functools
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from onewindow.kit.clock import ManualClock
from onewindow.kit.db import make_engine
from onewindow.kit.migrate import upgrade
from onewindow.kit.platform import Platform
from onewindow.kit.settings import Settings
from onewindow.security import passwords

PG_URL = os.environ.get("ONEWINDOW_TEST_DATABASE_URL")
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_CITY = Path(__file__).resolve().parents[1] / "src" / "onewindow" / "demo" / "city"
# Fixtures copied into the repository (with their licence notes): tests never read ../shared.
TEST_DATA = Path(__file__).resolve().parent / "data"
# argon2 is slow on purpose; the tests sign in hundreds of times.
passwords.configure(time_cost=1, memory_cost_kib=1024)

# A Monday, 09:00 in Shanghai: tests that count working days start from here.
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


def _with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database made once per run: a SQLite file to copy, or a PostgreSQL schema."""
    if PG_URL:
        schema = f"ow_test_{uuid.uuid4().hex[:10]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = _with_schema(PG_URL, schema)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        yield str(path)


def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables)
        if names:
            # TRUNCATE does not fire the row-level append-only trigger on events.
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> str:
    if PG_URL:
        _truncate_all(database_template)
        return database_template
    path = tmp_path / "onewindow.db"
    shutil.copyfile(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
def platform(settings: Settings, clock: ManualClock) -> Iterator[Platform]:
    p = Platform.create(settings, clock=clock)
    yield p
    p.dispose()


@pytest.fixture
def city(platform: Platform) -> Platform:
    """The platform with the demo city's catalogue loaded (no cases)."""
    from onewindow.catalog import service as catalog

    with platform.unit_of_work() as ctx:
        catalog.load_catalog(ctx, DEMO_CITY, actor="test")
    return platform


@pytest.fixture
def client(city: Platform) -> Iterator[Any]:
    """An HTTP client on the app over the demo catalogue (demo staff passwords: "demo")."""
    from fastapi.testclient import TestClient

    from onewindow.api.app import create_app
    from onewindow.catalog import service as catalog
    from onewindow.security import service as security

    with city.unit_of_work() as ctx:
        for staff in catalog.list_staff(ctx):
            security.set_password_hash(ctx, staff, _demo_hash(), actor="test")
    with TestClient(create_app(city)) as c:
        yield c


@functools.lru_cache(maxsize=1)
def _demo_hash() -> str:
    from onewindow.security.passwords import hash_password

    return hash_password("demo")


def login(client: Any, username: str, password: str = "demo") -> dict[str, str]:
    """Sign in on ``client`` (cookie kept by the client); returns headers with the CSRF token."""
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}
