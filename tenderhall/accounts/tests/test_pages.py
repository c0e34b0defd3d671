from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from django.test import Client

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import PASSWORD, make_user
from tenderhall.core import clock

pytestmark = pytest.mark.django_db


def test_sign_in_without_two_factor_lands_on_the_next_page():
    user = make_user()
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD, "next": "/registry/"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/registry/"
    assert client.get("/accounts/me/").status_code == 200


def test_sign_in_refuses_an_external_next_url():
    user = make_user()
    response = Client().post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/"


def test_a_wrong_password_shows_the_reason_on_the_form():
    user = make_user()
    response = Client().post("/accounts/login/", {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert "用户名或密码错误。" in response.content.decode()


def test_sign_in_with_two_factor_needs_the_current_code_before_the_session_exists():
    # given: an operator whose two-factor was set up earlier
    user = make_user(role=Role.OPERATOR)
    client = Client()
    # when
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    # then: the session is not signed in until the code is given
    assert response.headers["Location"].startswith("/accounts/login/verify")
    assert client.get("/accounts/me/").status_code == 302
    assert client.post("/accounts/login/verify", {"code": "000000"}).status_code == 200
    code = pyotp.TOTP(user.totp_secret).now()
    response = client.post("/accounts/login/verify", {"code": code})
    assert response.status_code == 302
    assert client.get("/accounts/me/").status_code == 200


def test_a_role_that_needs_two_factor_is_sent_to_set_it_up_before_any_other_page():
    user = make_user(role=Role.EXPERT, two_factor=False)
    client = Client()
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    response = client.get("/registry/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/2fa/setup/"
    setup = client.get("/accounts/2fa/setup/")
    assert setup.status_code == 200
    user.refresh_from_db()
    assert user.totp_secret in setup.content.decode()
    assert "<svg" in setup.content.decode()
    client.post("/accounts/2fa/setup/", {"code": pyotp.TOTP(user.totp_secret).now()})
    assert client.get("/registry/").status_code == 200


def test_registration_page_creates_the_account_and_signs_in():
    client = Client()
    response = client.post(
        "/accounts/register/",
        {
            "username": "newbie",
            "password": PASSWORD,
            "full_name": "新人",
            "id_type": "resident_id",
            "id_number": "360426199101010071",
            "id_country": "",
            "phone": "13912345678",
            "email": "n@example.invalid",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="newbie").full_name == "新人"


def test_registration_page_shows_per_field_reasons():
    response = Client().post(
        "/accounts/register/",
        {
            "username": "newbie",
            "password": PASSWORD,
            "full_name": "新人",
            "id_type": "resident_id",
            "id_number": "360426199101010072",
            "phone": "123",
            "email": "n@example.invalid",
        },
    )
    html = response.content.decode()
    assert 'data-field="id_number">校验码为2，应为1' in html
    assert 'data-field="phone">请填写中国大陆手机号码' in html


def test_registration_page_refuses_an_email_address_longer_than_its_column():
    # given an address the form's check accepts (up to 320 characters) but the column does not hold
    email = "n" * 64 + "@" + ("d" * 60 + ".") * 4 + "invalid"
    # when
    response = Client().post(
        "/accounts/register/",
        {
            "username": "newbie",
            "password": PASSWORD,
            "full_name": "新人",
            "id_type": "resident_id",
            "id_number": "360426199101010071",
            "phone": "13912345678",
            "email": email,
        },
    )
    # then the form says so, and no account exists
    assert response.status_code == 200
    assert 'data-field="email">' in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_the_registration_page_stores_a_full_width_identity_number_in_ascii():
    # when the number is typed with the input method in full-width mode
    response = Client().post(
        "/accounts/register/",
        {
            "username": "newbie",
            "password": PASSWORD,
            "full_name": "新人",
            "id_type": "resident_id",
            "id_number": "３６０４２６１９９１０１０１００７１",
            "id_country": "",
            "phone": "13912345678",
            "email": "n@example.invalid",
        },
    )
    # then the account holds it in ASCII, where the one-identity check finds it
    assert response.status_code == 302
    assert User.objects.get(username="newbie").id_number == "360426199101010071"


def test_pages_are_chinese_by_default_and_english_on_request():
    assert "登录" in Client().get("/accounts/login/").content.decode()
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert 'lang="en"' in client.get("/accounts/login/").content.decode()


def test_every_page_carries_the_security_headers():
    response = Client().get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_forms_need_the_csrf_token():
    user = make_user()
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 403


def test_the_lockout_also_holds_on_the_page():
    user = make_user()
    client = Client()
    for _ in range(5):
        client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert "该账号已被锁定至" in response.content.decode()
    user.refresh_from_db()
    assert user.locked_until is not None
    assert user.locked_until > clock.now() + timedelta(minutes=14)
