from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from tenderhall.accounts import services
from tenderhall.accounts.certificates import CertificateInfo
from tenderhall.accounts.choices import IdType, Role
from tenderhall.accounts.models import ApiToken, Certificate, User
from tenderhall.accounts.tests.factories import NOW, PASSWORD, make_user, resident_id
from tenderhall.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tenderhall.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def register(**overrides: object) -> User:
    fields: dict[str, object] = {
        "username": "wang",
        "password": PASSWORD,
        "full_name": "王五",
        "id_type": IdType.RESIDENT_ID,
        "id_number": "11010519491231002X",
        "phone": "13800000001",
        "email": "wang@example.invalid",
        "now": NOW,
    }
    return services.user_register(**(fields | overrides))  # type: ignore[arg-type]


def test_registration_stores_an_argon2_hash_and_audits_with_the_identity_masked():
    # when
    user = register()
    # then
    assert user.password.startswith("argon2$")
    assert user.check_password(PASSWORD)
    entry = AuditEntry.objects.get(action="accounts:user:registered")
    assert entry.subject_id == str(user.pk)
    assert entry.changes["id_number"] == ["***", "***"]
    assert entry.changes["username"] == [None, "wang"]
    assert user.id_number_masked == "110*************2X"


def test_registration_refuses_a_resident_id_with_a_wrong_check_digit_and_says_so():
    with pytest.raises(InvalidInput) as raised:
        register(id_number="110105194912310021")
    assert "id_number" in raised.value.details["fields"]
    assert "check" in raised.value.details["fields"]["id_number"].lower()
    assert not User.objects.exists()


def test_registration_accepts_a_foreign_passport():
    user = register(id_type=IdType.PASSPORT, id_number="X12345678", id_country="GBR")
    assert (user.id_type, user.id_country) == ("passport", "GBR")


def test_registration_collects_every_bad_field_at_once():
    with pytest.raises(InvalidInput) as raised:
        register(phone="123", email="not-an-email", password="short", full_name=" ")
    assert set(raised.value.details["fields"]) == {"phone", "email", "password", "full_name"}


def test_one_identity_one_account_and_one_username():
    register()
    with pytest.raises(Conflict):
        register(username="other")
    with pytest.raises(Conflict):
        register(id_number=resident_id(7))
    assert User.objects.count() == 1


def test_the_fifth_wrong_password_locks_the_account_even_against_the_right_password():
    # given
    user = make_user()
    # when
    for _ in range(5):
        with pytest.raises(services.LoginRefused):
            services.user_authenticate(username=user.username, password="wrong-password", now=NOW)
    # then
    with pytest.raises(services.AccountLocked) as raised:
        services.user_authenticate(username=user.username, password=PASSWORD, now=NOW + timedelta(minutes=14))
    assert raised.value.code == "account_locked"
    assert (
        services.user_authenticate(username=user.username, password=PASSWORD, now=NOW + timedelta(minutes=15))
        == user
    )
    user.refresh_from_db()
    assert (user.failed_logins, user.locked_until) == (0, None)
    assert AuditEntry.objects.filter(action="accounts:login:failed", subject_id=str(user.pk)).count() == 5
    assert AuditEntry.objects.filter(action="accounts:user:locked").count() == 1


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password():
    with pytest.raises(services.LoginRefused) as raised:
        services.user_authenticate(username="nobody", password="x", now=NOW)
    assert raised.value.message == "The user name or password is wrong."


def test_totp_enrolment_confirms_with_a_current_code_and_refuses_a_replay():
    # given
    user = make_user()
    secret = services.totp_enrol_start(user=user, now=NOW)
    code = pyotp.TOTP(secret).at(NOW)
    # when
    services.totp_verify(user=user, code=code, now=NOW)
    # then
    user.refresh_from_db()
    assert user.totp_confirmed_at == NOW
    with pytest.raises(services.TwoFactorFailed):
        services.totp_verify(user=user, code=code, now=NOW + timedelta(seconds=5))
    with pytest.raises(services.TwoFactorFailed):
        services.totp_verify(
            user=user, code="000000" if code != "000000" else "111111", now=NOW + timedelta(minutes=2)
        )
    services.totp_verify(
        user=user, code=pyotp.TOTP(secret).at(NOW + timedelta(seconds=60)), now=NOW + timedelta(seconds=60)
    )


def test_roles_that_need_two_factor_are_known_per_user():
    assert services.two_factor_required_for(make_user(role=Role.EXPERT))
    assert not services.two_factor_required_for(make_user())


def test_only_operators_grant_roles():
    # given
    operator, user, outsider = make_user(role=Role.OPERATOR), make_user(), make_user()
    # when
    grant = services.role_grant(actor=operator, user=user, role=Role.REGULATOR, entity_id=None, now=NOW)
    # then
    assert (grant.role, grant.granted_by) == (Role.REGULATOR, operator)
    with pytest.raises(PermissionDenied):
        services.role_grant(actor=outsider, user=user, role=Role.EXPERT, entity_id=None, now=NOW)
    with pytest.raises(InvalidInput):
        services.role_grant(actor=operator, user=user, role=Role.BIDDER, entity_id=None, now=NOW)
    with pytest.raises(Conflict):
        services.role_grant(actor=operator, user=user, role=Role.REGULATOR, entity_id=None, now=NOW)


def test_a_token_authenticates_with_its_scopes_until_revoked_or_expired():
    # given
    user = make_user()
    issued = services.token_create(
        user=user, name="ci", scopes=["registry:read"], expires_at=NOW + timedelta(days=1), now=NOW
    )
    # then
    assert issued.record.secret_hash not in issued.token
    record = services.token_usable_record(token=issued.token, now=NOW)
    assert (record.user, record.scopes) == (user, ["registry:read"])
    with pytest.raises(services.LoginRefused):
        services.token_usable_record(token=issued.token, now=NOW + timedelta(days=1))
    services.token_revoke(user=user, token_id=issued.record.pk, now=NOW)
    with pytest.raises(services.LoginRefused):
        services.token_usable_record(token=issued.token, now=NOW)


def test_a_token_with_a_wrong_secret_is_refused():
    user = make_user()
    issued = services.token_create(user=user, name="ci", scopes=["profile:read"], expires_at=None, now=NOW)
    forged = issued.token[:-4] + ("AAAA" if not issued.token.endswith("AAAA") else "BBBB")
    with pytest.raises(services.LoginRefused):
        services.token_usable_record(token=forged, now=NOW)


def test_token_creation_refuses_unknown_scopes_and_past_expiry():
    user = make_user()
    with pytest.raises(InvalidInput):
        services.token_create(user=user, name="x", scopes=["everything"], expires_at=None, now=NOW)
    with pytest.raises(InvalidInput):
        services.token_create(user=user, name="x", scopes=["profile:read"], expires_at=NOW, now=NOW)
    assert not ApiToken.objects.exists()


def test_revoking_someone_elses_token_is_not_found_and_changes_nothing():
    owner, other = make_user(), make_user()
    issued = services.token_create(user=owner, name="x", scopes=["profile:read"], expires_at=None, now=NOW)
    with pytest.raises(NotFound):
        services.token_revoke(user=other, token_id=issued.record.pk, now=NOW)
    issued.record.refresh_from_db()
    assert issued.record.revoked_at is None


def test_a_certificate_whose_names_are_longer_than_their_columns_is_refused(monkeypatch):
    # given a certificate a trusted CA issued with a subject and issuer longer than the columns keep
    user = make_user()
    long_name = "CN=" + "名" * 498
    info = CertificateInfo(
        der=b"\x30\x00", fingerprint="ab" * 32, subject=long_name, issuer=long_name, serial="1f",
        not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=365),
        key_usage=("digitalSignature",), key_algorithm="ec-secp256r1", subject_serial_number=None,
        is_ca=False,
    )  # fmt: skip
    monkeypatch.setattr(services, "certificate_validate", lambda **_: info)
    # when
    with pytest.raises(InvalidInput) as refused:
        services.certificate_accept(actor=user, user=user, data=b"...", usage="signing", now=NOW)
    # then it is refused naming both, not left to the database, and nothing is kept
    assert set(refused.value.details["fields"]) == {"subject", "issuer"}
    assert refused.value.details["fields"]["subject"] == "At most 500 characters."
    assert not Certificate.objects.exists()


def full_width(text: str) -> str:
    """The text as typed with a Chinese input method in full-width mode."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_an_identity_number_typed_in_full_width_is_stored_as_ascii_with_a_capital_x():
    # when the number comes in full-width digits, a lower-case full-width x and surrounding spaces
    user = register(id_number="\u3000" + full_width("11010519491231002x") + " ")
    # then it is kept as the one form every lookup uses
    user.refresh_from_db()
    assert user.id_number == "11010519491231002X"


def test_the_same_identity_number_in_full_width_is_the_same_identity_and_gets_no_second_account():
    # given an account registered with the number in ASCII
    register()
    # when the same number is registered again in full-width digits, and with a lower-case x
    with pytest.raises(Conflict) as full:
        register(username="other", id_number=full_width("11010519491231002X"))
    with pytest.raises(Conflict) as lower:
        register(username="third", id_number="11010519491231002x")
    # then both are refused as the same identity, and one account exists
    assert full.value.details == {"fields": {"id_number": "registered"}}
    assert lower.value.details == {"fields": {"id_number": "registered"}}
    assert list(User.objects.values_list("username", "id_number")) == [("wang", "11010519491231002X")]


def test_a_passport_and_its_country_typed_in_full_width_are_the_same_identity():
    # given
    register(id_type=IdType.PASSPORT, id_number="E12345678", id_country="CHN")
    first = register(username="smith", id_type=IdType.PASSPORT, id_number="X12345678", id_country="gbr")
    # when the same passport comes in full-width letters and digits
    with pytest.raises(Conflict):
        register(
            username="other",
            id_type=IdType.PASSPORT,
            id_number=full_width("x12345678"),
            id_country=full_width("GBR"),
        )
    # then
    first.refresh_from_db()
    assert (first.id_number, first.id_country) == ("X12345678", "GBR")
    assert User.objects.count() == 2
