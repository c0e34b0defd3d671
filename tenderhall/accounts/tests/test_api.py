from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import ApiToken, User
from tenderhall.accounts.tests.factories import PASSWORD, bearer, make_user, resident_id

pytestmark = pytest.mark.django_db


def test_registration_errors_come_back_per_field_with_a_stable_code():
    # when
    response = Client().post(
        "/api/v1/accounts/users",
        {
            "username": "li",
            "password": PASSWORD,
            "full_name": "李四",
            "id_type": "resident_id",
            "id_number": "110105194912310021",
            "phone": "13800000000",
            "email": "li@example.invalid",
        },
        content_type="application/json",
    )
    # then
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert body["details"]["fields"] == {"id_number": "check character is 1, expected X"}
    assert not User.objects.exists()


def test_registration_text_longer_than_its_column_is_refused_per_field():
    # given text a form would have cut, sent over the API (PostgreSQL raised; SQLite kept it whole)
    body = {
        "username": "li",
        "password": PASSWORD,
        "full_name": "李" * 101,
        "id_type": "resident_id",
        "id_number": resident_id(5),
        "phone": "138 0000 000" + " " * 10 + "0",  # a mobile number once the spaces are gone
        "email": "l" * 64 + "@" + ("d" * 60 + ".") * 4 + "invalid",  # valid, and over 254 characters
    }
    # when
    response = Client().post("/api/v1/accounts/users", body, content_type="application/json")
    # then
    assert response.status_code == 422
    assert response.json()["details"]["fields"] == {
        "full_name": "At most 100 characters.",
        "phone": "At most 20 characters.",
        "email": "At most 254 characters.",
    }
    assert not User.objects.exists()


def test_a_token_name_longer_than_its_column_is_refused():
    user = make_user()
    before = ApiToken.objects.count()
    response = Client().post(
        "/api/v1/accounts/tokens",
        {"name": "t" * 101, "scopes": ["registry:read"]},
        content_type="application/json",
        headers=bearer(user, "tokens:write"),
    )
    assert (response.status_code, response.json()["code"]) == (422, "invalid_input")
    assert response.json()["details"]["fields"] == {"name": "At most 100 characters."}
    assert ApiToken.objects.count() == before + 1  # the bearer token only


def test_a_malformed_body_gets_422_naming_the_fields():
    response = Client().post("/api/v1/accounts/users", {"username": "x"}, content_type="application/json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert {"password", "full_name", "id_type", "id_number", "phone", "email"} <= {
        d["field"] for d in body["details"]
    }


def test_a_token_without_the_scope_gets_403_insufficient_scope():
    user = make_user()
    response = Client().get("/api/v1/accounts/tokens", headers=bearer(user, "profile:read"))
    assert response.status_code == 403
    assert response.json() == {
        "code": "insufficient_scope",
        "message": "This API token lacks the scope 'tokens:write'; create a token that has it.",
        "details": {"required_scope": "tokens:write"},
    }


def test_a_bad_token_gets_401_with_a_message_that_says_what_to_send():
    response = Client().get("/api/v1/accounts/me", headers={"Authorization": "Bearer th_nonsense"})
    assert response.status_code == 401
    assert response.json()["code"] == "login_failed"
    response = Client().get("/api/v1/accounts/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_personal_token_is_read_once_per_request():
    # given: a personal token (not a client system's key), already used this minute
    user = make_user()
    headers = bearer(user, "profile:read")
    assert Client().get("/api/v1/accounts/me", headers=headers).status_code == 200
    # when
    with CaptureQueriesContext(connection) as captured:
        response = Client().get("/api/v1/accounts/me", headers=headers)
    # then: one read of the token table, for authentication; the client-system admission does not read it
    assert response.status_code == 200
    table = ApiToken._meta.db_table
    assert sum(table in query["sql"] for query in captured.captured_queries) == 1


def test_the_token_secret_is_shown_once_and_stored_only_as_a_hash():
    user = make_user()
    response = Client().post(
        "/api/v1/accounts/tokens",
        {"name": "erp", "scopes": ["registry:read"]},
        content_type="application/json",
        headers=bearer(user, "tokens:write"),
    )
    assert response.status_code == 201
    token = response.json()["token"]
    stored = ApiToken.objects.get(name="erp")
    assert token.startswith(f"th_{stored.prefix}_")
    assert token.split("_", 2)[2] not in stored.secret_hash
    listed = Client().get("/api/v1/accounts/tokens", headers=bearer(user, "tokens:write")).json()
    assert all("token" not in t for t in listed)


def test_session_api_calls_need_the_csrf_token_for_writes():
    user = make_user()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/accounts/me").status_code == 200
    response = client.post(
        "/api/v1/accounts/tokens", {"name": "x", "scopes": ["profile:read"]}, content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")
    assert "X-CSRFToken" in response.json()["message"]
    assert not ApiToken.objects.exists()


def test_a_write_with_neither_a_session_nor_a_token_is_not_authenticated_rather_than_a_csrf_failure():
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/accounts/tokens", {"name": "x", "scopes": ["profile:read"]}, content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert not ApiToken.objects.exists()


def test_a_session_without_the_required_two_factor_is_not_authenticated_for_the_api():
    user = make_user(role=Role.REGULATOR, two_factor=False)
    client = Client()
    client.force_login(user)
    assert client.get("/api/v1/accounts/me").status_code == 401


def test_me_shows_roles_and_a_masked_identity():
    user = make_user(role=Role.EXPERT)
    body = Client().get("/api/v1/accounts/me", headers=bearer(user, "profile:read")).json()
    assert body["roles"][0]["role"] == "expert"
    assert body["two_factor_required"] is True
    assert body["two_factor_enabled"] is True
    assert body["id_number_masked"] == user.id_number_masked
    assert "*" in body["id_number_masked"]
    assert user.id_number not in str(body)


def test_the_openapi_document_is_served_and_names_the_bearer_scheme():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "tenderhall API"
    assert "/api/v1/registry/entities" in schema["paths"]


def test_the_api_answers_in_english_by_default_and_in_chinese_when_asked():
    payload = {
        "username": "x",
        "password": PASSWORD,
        "full_name": "x",
        "id_type": "resident_id",
        "id_number": resident_id(3),
        "phone": "1",
        "email": "x@example.invalid",
    }
    english = Client().post("/api/v1/accounts/users", payload, content_type="application/json").json()
    assert english["details"]["fields"]["phone"].startswith("Enter a mainland mobile number")


def test_registering_an_identity_number_again_in_full_width_digits_is_a_conflict():
    # given an account registered over the API
    body = {
        "username": "li",
        "password": PASSWORD,
        "full_name": "李四",
        "id_type": "resident_id",
        "id_number": "11010519491231002X",
        "phone": "13800000000",
        "email": "li@example.invalid",
    }
    first = Client().post("/api/v1/accounts/users", body, content_type="application/json")
    # when the same number is sent in full-width digits under another user name
    again = {**body, "username": "li2", "id_number": "１１０１０５１９４９１２３１００２ｘ"}
    second = Client().post("/api/v1/accounts/users", again, content_type="application/json")
    # then
    assert first.status_code == 201
    assert (second.status_code, second.json()["code"]) == (409, "conflict")
    assert second.json()["details"] == {"fields": {"id_number": "registered"}}
    assert list(User.objects.values_list("username", flat=True)) == ["li"]
