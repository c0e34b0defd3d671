"""Certificate refusals in the active language: in English exactly as certificates.py words them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils import translation

from tenderhall.accounts import services
from tenderhall.accounts.certificate_messages import MESSAGES, certificate_rejection_message
from tenderhall.accounts.certificates import (
    CertificateRejected,
    Reason,
    key_problem,
    load_certificate,
    load_pem_bundle,
    validate_certificate,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _certificate(*, ca: bool, key_usage: x509.KeyUsage | None) -> bytes:
    """A self-signed P-256 certificate: quick to make, and refused for what the arguments make it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "测试证书")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _key_usage(
    *, digital_signature: bool = False, key_agreement: bool = False, key_cert_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=key_agreement,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _refusal(call: Callable[[], object]) -> CertificateRejected:
    with pytest.raises(CertificateRejected) as raised:
        call()
    return raised.value


def _key_refusal(key_algorithm: str, usage: str) -> CertificateRejected:
    problem = key_problem(key_algorithm, usage=usage)
    assert problem is not None
    reason, message = problem
    return CertificateRejected(message, reason=reason)


def _validate(data: bytes, usage: str = "signing") -> Callable[[], object]:
    return lambda: validate_certificate(data, usage=usage, trust_roots=[], now=NOW)


REFUSALS: dict[str, Callable[[], CertificateRejected]] = {
    "empty": lambda: _refusal(lambda: load_certificate(b"")),
    "too large": lambda: _refusal(lambda: load_certificate(b"0" * 70_000)),
    "unreadable": lambda: _refusal(lambda: load_certificate(b"not a certificate")),
    "no certificate in the PEM": lambda: _refusal(
        lambda: load_pem_bundle(b"-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n")
    ),
    "weak RSA": lambda: _key_refusal("rsa-1024", "signing"),
    "huge RSA": lambda: _key_refusal("rsa-32768", "signing"),
    "EC for encryption": lambda: _key_refusal("ec-secp256r1", "encryption"),
    "unsupported key": lambda: _key_refusal("ed25519", "signing"),
    "CA certificate": lambda: _refusal(
        _validate(_certificate(ca=True, key_usage=_key_usage(key_cert_sign=True)))
    ),
    "key agreement certificate for signing": lambda: _refusal(
        _validate(_certificate(ca=False, key_usage=_key_usage(key_agreement=True)))
    ),
    "no key usage": lambda: _refusal(_validate(_certificate(ca=False, key_usage=None))),
    "self-signed": lambda: _refusal(
        _validate(_certificate(ca=False, key_usage=_key_usage(digital_signature=True)))
    ),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_in_english_the_message_is_that_of_certificates_py(case):
    # given
    refusal = REFUSALS[case]()

    # when
    with translation.override("en"):
        message = certificate_rejection_message(refusal)

    # then
    assert message == refusal.message


@pytest.mark.parametrize("case", REFUSALS)
def test_in_chinese_every_refusal_is_translated(case):
    # given
    refusal = REFUSALS[case]()

    # when
    with translation.override("zh-hans"):
        message = certificate_rejection_message(refusal)

    # then
    assert message != refusal.message
    assert CJK.search(message)


@pytest.mark.parametrize(
    ("case", "chinese"),
    [
        ("empty", "文件为空，请上传您的证书。"),
        ("too large", "文件大小为70000字节，不可能是证书，请只上传证书本身。"),
        ("weak RSA", "RSA密钥长度为1024位，平台要求至少2048位。请生成新密钥并为其申请证书。"),
        (
            "key agreement certificate for signing",
            "该证书的密钥用途为keyAgreement，不能作为签名证书；"
            "请上传您的签名证书（密钥用途digitalSignature或nonRepudiation）。",
        ),
        (
            "no key usage",
            "证书未声明密钥用途；签名证书必须允许digitalSignature或nonRepudiation。请向CA申请签名证书。",
        ),
        ("self-signed", "这是自签名证书，请上传经认可的CA颁发的证书。"),
    ],
)
def test_chinese_refusals(case, chinese):
    with translation.override("zh-hans"):
        assert certificate_rejection_message(REFUSALS[case]()) == chinese


def test_a_message_certificates_py_words_differently_stays_english():
    # given
    refusal = CertificateRejected("Something new went wrong.", reason=Reason.MALFORMED)

    # then
    with translation.override("zh-hans"):
        assert certificate_rejection_message(refusal) == "Something new went wrong."


def test_every_reason_has_its_messages():
    assert set(MESSAGES) == set(Reason)


@pytest.mark.django_db
def test_the_service_refuses_in_the_active_language_with_the_same_reason():
    # when
    with translation.override("zh-hans"):
        refusal = _refusal(lambda: services.certificate_validate(data=b"", usage="signing", now=NOW))

    # then
    assert refusal.message == "文件为空，请上传您的证书。"
    assert refusal.details == {"reason": "malformed"}
    assert refusal.reason == Reason.MALFORMED
