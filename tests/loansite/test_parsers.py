"""JSON bodies within limits: deep nesting and oversized bodies are 4xx with a message, never a 500."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
LOGIN = "/api/v1/auth/login/"


def _post(api, url, body: str):
    return api.generic("POST", url, body, content_type="application/json")


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_json_on_the_anonymous_login_is_400(opener):
    """Reproduced: 100,000 nested arrays on POST /api/v1/auth/login/ raised RecursionError (500)."""
    closer = "]" if opener == "[" else "}"
    response = _post(APIClient(), LOGIN, opener * 100_000 + "1" + closer * 100_000)
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.json()["detail"]


def test_deeply_nested_json_on_an_authenticated_endpoint_is_400(make_user):
    api = APIClient()
    api.force_authenticate(make_user("boss", role="Administrator"))
    response = _post(api, "/api/v1/scoring/predict/", "[" * 5000 + "]" * 5000)
    assert response.status_code == 400


def test_an_oversized_json_body_is_413(settings):
    settings.API_JSON_MAX_BYTES = 1000
    response = _post(APIClient(), LOGIN, '{"username": "' + "x" * 2000 + '", "password": "p"}')
    assert response.status_code == 413
    assert "larger than 1000 bytes" in response.json()["detail"]


def test_ordinary_json_still_parses(make_user):
    make_user("officer")
    response = _post(APIClient(), LOGIN, '{"username": "officer", "password": "s3cure-Passw0rd!"}')
    assert response.status_code == 200 and "access" in response.json()
    assert _post(APIClient(), LOGIN, '{"username": ').status_code == 400


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["[[[[[", "]]]"]', 1),
        ('{"k\\"[": "\\\\", "v": [[]]}', 3),
    ],
)
def test_nesting_depth_ignores_brackets_in_strings(text, depth):
    from loansite.api.parsers import json_nesting_depth

    assert json_nesting_depth(text) == depth


def test_deeply_nested_json_in_an_admin_form_is_a_form_error(client, make_user):
    """The same hole in forms: a JSON form field (a product's repayment methods) raised RecursionError."""
    from loans.models import LoanProduct
    from tests.loans.factories import ProductFactory

    product = ProductFactory()
    client.force_login(make_user("root", superuser=True))
    url = f"/admin/loans/loanproduct/{product.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    data["repayment_methods"] = "[" * 50_000 + "]" * 50_000
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["repayment_methods"]
    assert LoanProduct.objects.get(pk=product.pk).repayment_methods == product.repayment_methods
