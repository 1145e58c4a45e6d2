"""Route x role: every API route names its permission, and every role gets exactly what
``authz.PERMISSIONS`` grants it — no more, no less.

The table is not repeated here: the expected answer for each role and route is worked out by
``authz.allowed`` from the permission the route itself declares. A new route without a rule,
or a new role without a caller below, fails this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fastapi.routing
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from onewindow.catalog import service as catalog
from onewindow.kit.platform import Platform
from onewindow.security import authz
from onewindow.security import service as security
from onewindow.security.schemas import ROLES, Principal

from .test_api_support import (
    ACCEPT,
    API,
    applicant,
    fresh,
    staff,
    system,
    take_application,
    task_id,
)

# One demo member of staff per role, each left with that one role only.
STAFF_FOR_ROLE = {
    "clerk": "center_qian",
    "reviewer": "samr_wang",
    "head": "samr_chen",
    "analyst": "center_li",
    "data_admin": "center_wu",
    "auditor": "center_zheng",
    "admin": "center_zhou",
}
SYSTEM_DEPARTMENT = "SAMR"
APPLICANT_PHONE = "13700000003"
UNDOCUMENTED = re.compile(r"^/api/v1/(openapi\.json|docs)")
# Calls that end the caller's own session run after everything else.
ENDS_SESSION = ("/api/v1/auth/logout",)


@dataclass(frozen=True)
class RouteInfo:
    """A route as served: its full path (router prefixes applied) and its dependency tree."""

    path: str
    methods: frozenset[str]
    dependant: Dependant


def served_routes(app: Any) -> list[RouteInfo]:
    """Every ``APIRoute`` of the app, including those of included routers."""
    if hasattr(fastapi.routing, "iter_route_contexts"):  # FastAPI keeps included routers nested
        contexts: list[Any] = list(fastapi.routing.iter_route_contexts(app.routes))
        pairs = [(c.original_route, c) for c in contexts]
    else:
        pairs = [(r, r) for r in app.routes]
    return [
        RouteInfo(str(served.path), frozenset(served.methods or ()), served.dependant)
        for original, served in pairs
        if isinstance(original, APIRoute)
    ]


def _api_routes(app: Any) -> list[RouteInfo]:
    return [
        r for r in served_routes(app) if r.path.startswith(API) and not UNDOCUMENTED.match(r.path)
    ]


def _page_routes(app: Any) -> list[RouteInfo]:
    return [r for r in served_routes(app) if not r.path.startswith(API)]


def _rules(dependant: Dependant) -> Iterator[Any]:
    """Every dependency object in the tree that carries a ``permission``."""
    for sub in dependant.dependencies:
        if authz.route_permission(sub.call) is not None:
            yield sub.call
        yield from _rules(sub)


def permissions_of(route: RouteInfo) -> list[str]:
    return [str(authz.route_permission(rule)) for rule in _rules(route.dependant)]


# --- every route declares one rule ----------------------------------------------------------


def test_every_api_route_declares_exactly_one_permission(client: TestClient) -> None:
    routes = _api_routes(client.app)
    assert len(routes) > 20
    problems = {
        f"{sorted(r.methods)} {r.path}": permissions_of(r)
        for r in routes
        if len(permissions_of(r)) != 1
    }
    assert not problems, f"routes without exactly one require()/public(): {problems}"
    for r in routes:
        (permission,) = permissions_of(r)
        assert permission == authz.PUBLIC or permission in authz.PERMISSIONS


def test_page_routes_use_the_page_helper(client: TestClient) -> None:
    """HTML pages name their rule too, through ``require_page`` (anonymous -> sign-in page)."""
    problems: dict[str, Any] = {}
    for r in _page_routes(client.app):
        rules = list(_rules(r.dependant))
        if len(rules) != 1:
            problems[f"{sorted(r.methods)} {r.path}"] = [authz.route_permission(x) for x in rules]
        elif rules[0].permission != authz.PUBLIC and not isinstance(rules[0], authz.RequirePage):
            problems[f"{sorted(r.methods)} {r.path}"] = "require() instead of require_page()"
    assert not problems, problems


# --- every role gets what the table grants --------------------------------------------------


@dataclass
class Caller:
    role: str  # a role of ROLES, or "anonymous"
    client: TestClient
    headers: dict[str, str]
    principal: Principal | None  # what the table is asked about; None for anonymous


def _expected_principal(role: str) -> Principal:
    if role == "applicant":
        return Principal(kind="applicant", name="applicant", roles=frozenset({role}), via="session")
    if role == "system":
        return Principal(
            kind="system",
            name="system",
            roles=frozenset({role}),
            via="token",
            scopes=frozenset(security.TOKEN_SCOPES),
        )
    return Principal(kind="staff", name=role, roles=frozenset({role}), via="session")


def _single_role_staff(city: Platform) -> None:
    with city.unit_of_work() as ctx:
        for role, username in STAFF_FOR_ROLE.items():
            catalog.get_staff(ctx, username).roles = [role]


@pytest.fixture
def world(client: TestClient, city: Platform) -> tuple[list[Caller], dict[str, str]]:
    """Every role signed in, and one case with an open SAMR task to aim the routes at."""
    assert set(ROLES) == set(STAFF_FOR_ROLE) | {"applicant", "system"}, (
        "a role was added: give it a caller in STAFF_FOR_ROLE"
    )
    _single_role_staff(city)
    clerk = staff(client, STAFF_FOR_ROLE["clerk"])
    number = take_application(clerk, APPLICANT_PHONE)["number"]
    accept = task_id(clerk, number, "Task_window_accept")
    assert clerk.post(f"/tasks/{accept}/complete", json={"data": ACCEPT}).status_code == 200
    case = clerk.get(f"/applications/{number}").json()
    admin = staff(client, STAFF_FOR_ROLE["admin"])
    spare = admin.post("/admin/tokens", json={"name": "spare", "scopes": ["cases.search"]})
    params = {
        "number": number,
        "sha256": case["materials"][0]["sha256"],
        "task_id": str(case["open_tasks"][0]["id"]),
        "document_id": str(case["documents"][0]["id"]),
        "code": case["service"],
        "token_id": str(spare.json()["id"]),
        "subscription_id": "1",
        "message_id": "0" * 32,
        "key": "x",
        "review_id": "1",
        "grant_id": "1",
        "prediction_id": "1",
    }
    signed_in = {"clerk": clerk, "admin": admin}
    users = {
        role: signed_in.get(role) or staff(client, name) for role, name in STAFF_FOR_ROLE.items()
    }
    users["applicant"] = applicant(client, APPLICANT_PHONE)
    users["system"] = system(client, SYSTEM_DEPARTMENT, admin=admin)
    callers = [Caller(r, u.client, u.headers, _expected_principal(r)) for r, u in users.items()]
    callers.append(Caller("anonymous", fresh(client), {}, None))
    return callers, params


def _url(route: RouteInfo, params: dict[str, str]) -> str:
    names = re.findall(r"{(\w+)(?::\w+)?}", route.path)
    missing = [n for n in names if n not in params]
    if missing:
        pytest.fail(f"{route.path}: add a plausible value for {missing} to the world fixture")
    return route.path.format(**{n: params[n] for n in names})


def _calls(routes: list[RouteInfo]) -> list[tuple[str, RouteInfo, str]]:
    calls = [
        (method, r, permissions_of(r)[0])
        for r in routes
        for method in sorted(r.methods - {"HEAD"})
        if len(permissions_of(r)) == 1  # the test above reports the others
    ]
    return sorted(calls, key=lambda c: c[1].path in ENDS_SESSION)


def test_every_role_gets_what_the_table_grants(
    client: TestClient, world: tuple[list[Caller], dict[str, str]]
) -> None:
    callers, params = world
    calls = _calls(_api_routes(client.app))
    assert len(calls) > 25
    wrong: list[str] = []
    seen_allowed: set[str] = set()
    for caller in callers:
        for method, route, permission in calls:
            r = caller.client.request(method, _url(route, params), headers=caller.headers)
            if permission == authz.PUBLIC:
                allowed = True
            elif caller.principal is None:
                allowed = False
            else:
                allowed = authz.allowed(caller.principal, permission)
            if allowed:
                ok = r.status_code not in (401, 403)
                seen_allowed.add(f"{caller.role}:{permission}")
            else:
                ok = r.status_code == (401 if caller.principal is None else 403)
            if not ok:
                wrong.append(
                    f"{caller.role} {method} {route.path} ({permission}, "
                    f"{'allowed' if allowed else 'refused'}) -> {r.status_code} {r.text[:120]}"
                )
    assert not wrong, "\n".join(wrong)
    # The matrix really exercised every grant of the table that an API route uses (a system
    # holds only what its token's scopes can carry).
    used = {p for _, _, p in calls}
    for permission, roles in authz.PERMISSIONS.items():
        if permission in used:
            granted = {r for r in roles if authz.allowed(_expected_principal(r), permission)}
            assert {f"{role}:{permission}" for role in granted} <= seen_allowed
