"""The schema as a contract: it validates, and every documented endpoint, called by every
role with data generated from the schema (Schemathesis over the WSGI app, no server),
answers without a 500, within the schema, and never outside the caller's scope."""

import json

import pytest
import schemathesis
import yaml
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from receivables.models import Customer
from tests.api.conftest import ROLES

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_schema_validates_and_documents_every_resource(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    validate(document)
    paths = set(document["paths"])
    for resource in (
        "customers",
        "invoices",
        "payments",
        "credit-notes",
        "contracts",
        "milestones",
        "cases",
        "messages",
        "promises",
        "disputes",
        "bank-receipts",
        "acceptance-bills",
    ):
        assert {f"/api/v1/{resource}/", f"/api/v1/{resource}/{{id}}/"} <= paths
    assert "/api/v1/ageing/" in paths
    headers = [
        parameter["name"]
        for path in ("/api/v1/payments/", "/api/v1/invoices/")
        for parameter in document["paths"][path]["post"].get("parameters", [])
    ]
    assert headers == ["Idempotency-Key", "Idempotency-Key"]
    money = document["components"]["schemas"]["InvoiceCreateRequest"]["properties"]["amount"]
    assert money["type"] == "string"


def test_swagger_ui_is_served_from_our_own_static_files(client, users):
    client.force_login(users["rep1"])
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<style>" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "http" not in html.split("<body>")[1]
    assert "default-src 'self'" in page["Content-Security-Policy"]
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()


# Loaded when the module is collected (the schema view reads no table); the calls go
# through the WSGI app in this process, so they see each test's database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())
# Data that fits the schema (invalid input is covered by the resource tests); few examples,
# so that `make test` runs every operation for every role in about a minute.
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE], allow_extra_parameters=False, allow_x00=False
)


@pytest.fixture
def wsgi_keeps_connection():
    """Requests sent straight to the WSGI app fire request_started/finished, whose
    close_old_connections would close the connection holding the test's transaction
    (on PostgreSQL); Django's test client unhooks it the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _codes(body: object) -> set[str]:
    """Customer codes anywhere in a JSON answer (objects name them `customer_code` or `code`)."""
    found = set()
    if isinstance(body, dict):
        for key in ("customer_code", "code"):
            if isinstance(body.get(key), str):
                found.add(body[key])
        for value in body.values():
            found |= _codes(value)
    elif isinstance(body, list):
        for value in body:
            found |= _codes(value)
    return found


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    derandomize=True,
)
def test_every_documented_endpoint_for_every_role(
    case, books, tokens, users, wsgi_keeps_connection
):
    for role in ROLES:
        response = case.call(headers={"Authorization": f"Token {tokens[role]}"})
        case.validate_response(response, checks=CHECKS)
        if role.startswith("rep") and response.status_code == 200:
            content_type = response.headers.get("Content-Type", [""])
            if "json" not in str(content_type):
                continue
            codes = _codes(json.loads(response.content))
            others = Customer.objects.filter(code__in=codes).exclude(sales_rep=users[role])
            assert not others.exists(), (role, case.path, sorted(codes))


def test_the_walk_of_every_documented_path_keeps_reps_in_scope(books, tokens):
    """Each documented GET path with another rep's ids answers 404 to the rep."""
    document = yaml.safe_load(Client().get("/api/schema/").content)
    theirs = {
        "customers": books["rep2"].customer,
        "invoices": books["rep2"].invoice,
        "payments": books["rep2"].payment,
        "credit-notes": books["rep2"].credit_note,
        "contracts": books["rep2"].contract,
        "milestones": books["rep2"].milestone,
        "cases": books["rep2"].case,
        "messages": books["rep2"].message,
        "promises": books["rep2"].promise,
        "disputes": books["rep2"].dispute,
        "bank-receipts": books["rep2"].receipt,
        "acceptance-bills": books["rep2"].bill,
    }
    client = Client(HTTP_AUTHORIZATION=f"Token {tokens['rep1']}")
    admin = Client(HTTP_AUTHORIZATION=f"Token {tokens['admin']}")
    walked = 0
    for path, item in document["paths"].items():
        if "{id}" not in path:
            continue
        resource = path.split("/")[3]
        url = path.replace("{id}", str(theirs[resource].pk))
        method = "get" if "get" in item else "post"
        assert getattr(admin, method)(url, {}, content_type="application/json").status_code != 404
        response = getattr(client, method)(url, {}, content_type="application/json")
        assert response.status_code == 404, (url, response.status_code)
        walked += 1
    assert walked >= 15
