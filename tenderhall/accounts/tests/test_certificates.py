"""Certificate validation against certificates made by the openssl CLI, the independent peer.

The test PKI: root A → intermediate A → leaves, a second, independent root B → leaf (CA mutual recognition),
and one-off certificates for every reason a certificate is refused. ``now`` is chosen from each certificate's
own validity period; nothing sleeps and nothing reads the clock.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tenderhall.accounts.certificates import (
    CertificateInfo,
    CertificateRejected,
    Reason,
    key_problem,
    load_certificate,
    load_pem_bundle,
    validate_certificate,
)

EXTENSIONS = """
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signing]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signing_ec]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
[signing_crl]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
crlDistributionPoints = URI:http://crl.example.test/intermediate-a.crl
[encryption]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyEncipherment,dataEncipherment
[key_agreement]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyAgreement
[no_key_usage]
basicConstraints = critical,CA:FALSE
"""
USCC = "91110000MA01234567"


def openssl(*args: str, cwd: Path) -> str:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@dataclass(frozen=True)
class OpensslPki:
    directory: Path

    def path(self, name: str) -> Path:
        return self.directory / name

    def pem(self, name: str) -> bytes:
        return self.path(f"{name}.pem").read_bytes()

    def der(self, name: str) -> bytes:
        return load_pem_bundle(self.pem(name))[0]

    def info(self, name: str) -> CertificateInfo:
        return load_certificate(self.pem(name))

    def key(self, name: str, spec: str) -> None:
        """spec: rsa:2048, ec:P-256, ed25519 ..."""
        algorithm, _, parameter = spec.partition(":")
        options = {
            "rsa": ["-pkeyopt", f"rsa_keygen_bits:{parameter}"],
            "ec": ["-pkeyopt", f"ec_paramgen_curve:{parameter}"],
        }
        openssl(
            "genpkey",
            "-algorithm",
            algorithm.upper(),
            *options.get(algorithm, []),
            "-out",
            f"{name}.key",
            cwd=self.directory,
        )

    def root(self, name: str, subject: str, spec: str) -> None:
        self.key(name, spec)
        openssl(
            "req", "-x509", "-new", "-key", f"{name}.key", "-out", f"{name}.pem", "-days", "3650", "-utf8",
            "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self.directory,
        )  # fmt: skip

    def issue(
        self, name: str, *, issuer: str, subject: str, section: str, key: str | None = None,
        spec: str = "rsa:2048", days: int = 365, digest: str = "sha256", issuer_key: str | None = None,
    ) -> None:  # fmt: skip
        """A certificate for a fresh key (or the existing ``key``) signed by ``issuer``: openssl x509 -req."""
        key = key or name
        if not self.path(f"{key}.key").exists():
            self.key(key, spec)
        openssl(
            "req",
            "-new",
            "-key",
            f"{key}.key",
            "-utf8",
            "-subj",
            subject,
            "-out",
            f"{name}.csr",
            cwd=self.directory,
        )
        openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.pem",
            "-CAkey", f"{issuer_key or issuer}.key",
            "-set_serial", f"0x{secrets.randbits(63):x}", "-days", str(days), f"-{digest}",
            "-extfile", "extensions.cnf", "-extensions", section, "-out", f"{name}.pem", cwd=self.directory,
        )  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> OpensslPki:
    pki = OpensslPki(tmp_path_factory.mktemp("pki"))
    pki.path("extensions.cnf").write_text(EXTENSIONS)
    pki.root("root_a", "/C=CN/O=Test CA A/CN=Test Root A", "rsa:2048")
    intermediate_a = "/C=CN/O=Test CA A/CN=Test Intermediate A"
    pki.issue("inter_a", issuer="root_a", subject=intermediate_a, section="ca", days=3650)
    pki.issue("inter_short", issuer="root_a", subject="/CN=Short-lived Intermediate", section="ca", days=1)
    pki.root("root_b", "/C=CN/O=Test CA B/CN=Test Root B", "ec:P-256")
    pki.root("root_x", "/CN=Unknown Root X", "rsa:2048")
    person = f"/C=CN/CN=张三/serialNumber={USCC}"
    pki.issue("signing", issuer="inter_a", subject=person, section="signing", key="person")
    pki.issue("encryption", issuer="inter_a", subject=person, section="encryption", key="person")
    pki.issue("revocable", issuer="inter_a", subject=person, section="signing_crl", key="person")
    pki.issue("no_key_usage", issuer="inter_a", subject=person, section="no_key_usage", key="person")
    pki.issue("sha1", issuer="inter_a", subject=person, section="signing", key="person", digest="sha1")
    pki.issue("direct", issuer="root_a", subject=person, section="signing", key="person")
    pki.issue("via_short", issuer="inter_short", subject=person, section="signing", key="person")
    pki.issue("untrusted", issuer="root_x", subject=person, section="signing", key="person")
    pki.issue("from_b", issuer="root_b", subject="/CN=李四", section="signing", key="person")
    pki.issue(
        "issued_by_leaf", issuer="signing", issuer_key="person", subject="/CN=Wrong Issuer", section="signing"
    )
    pki.issue("ec_signing", issuer="inter_a", subject="/CN=EC", section="signing_ec", spec="ec:P-256")
    pki.issue("ec_agreement", issuer="inter_a", subject="/CN=EC", section="key_agreement", key="ec_signing")
    pki.issue("p384", issuer="inter_a", subject="/CN=P384", section="signing_ec", spec="ec:P-384")
    pki.issue("ed25519", issuer="inter_a", subject="/CN=Ed", section="signing_ec", spec="ed25519")
    pki.issue("rsa1024", issuer="inter_a", subject="/CN=Weak", section="signing", spec="rsa:1024")
    openssl(
        "req", "-x509", "-new", "-key", "person.key", "-out", "self_signed.pem", "-days", "30",
        "-subj", "/CN=Self", "-addext", "basicConstraints=critical,CA:FALSE",
        "-addext", "keyUsage=critical,digitalSignature", cwd=pki.directory,
    )  # fmt: skip
    return pki


@pytest.fixture(scope="module")
def valid_at(pki: OpensslPki) -> datetime:
    """A moment when every certificate of the test PKI is valid, except the one-day intermediate's leaf."""
    return pki.info("signing").not_before + timedelta(hours=1)


@pytest.fixture(scope="module")
def validate(pki: OpensslPki, valid_at: datetime) -> Callable[..., CertificateInfo]:
    def run(name: str, **options: object) -> CertificateInfo:
        arguments: dict[str, object] = {
            "usage": "signing",
            "trust_roots": [pki.der("root_a"), pki.der("root_b")],
            "intermediates": [pki.der("inter_a"), pki.der("inter_short")],
            "now": valid_at,
            **options,
        }
        return validate_certificate(pki.pem(name), **arguments)  # type: ignore[arg-type]  # test pass-through

    return run


def rejection(call: Callable[[], object]) -> CertificateRejected:
    with pytest.raises(CertificateRejected) as caught:
        call()
    assert caught.value.code == "certificate_rejected"
    assert caught.value.status == 422
    return caught.value


# --- reading certificates


def test_load_certificate_reads_pem_and_der_alike(pki):
    # given
    pem = pki.pem("signing")
    der = pki.der("signing")
    # when
    from_pem = load_certificate(pem)
    from_der = load_certificate(der)
    # then
    assert from_pem == from_der
    assert from_der.der == der


def test_load_certificate_describes_the_certificate(pki):
    # given
    pem = pki.pem("signing")
    text = openssl(
        "x509", "-in", "signing.pem", "-noout", "-serial", "-fingerprint", "-sha256", cwd=pki.directory
    )
    serial = text.split("serial=")[1].split()[0].lower().lstrip("0")
    fingerprint = text.split("Fingerprint=")[1].strip().replace(":", "").lower()
    # when
    info = load_certificate(pem)
    # then
    assert info.fingerprint == fingerprint
    assert info.serial == serial
    assert info.subject == f"serialNumber={USCC},CN=张三,C=CN"
    assert info.issuer == "CN=Test Intermediate A,O=Test CA A,C=CN"
    assert info.subject_serial_number == USCC
    assert info.key_usage == ("digitalSignature", "nonRepudiation")
    assert info.key_algorithm == "rsa-2048"
    assert info.is_ca is False
    assert info.not_before.tzinfo == UTC
    assert info.not_after - info.not_before == timedelta(days=365)


def test_load_certificate_names_key_algorithms(pki):
    # given / when / then
    assert load_certificate(pki.pem("ec_signing")).key_algorithm == "ec-secp256r1"
    assert load_certificate(pki.pem("p384")).key_algorithm == "ec-secp384r1"
    assert load_certificate(pki.pem("ed25519")).key_algorithm == "ed25519"
    assert load_certificate(pki.pem("encryption")).key_usage == ("keyEncipherment", "dataEncipherment")
    assert load_certificate(pki.pem("no_key_usage")).key_usage == ()
    assert load_certificate(pki.pem("root_a")).is_ca is True


def test_load_certificate_without_serial_number_attribute(pki):
    # given / when
    info = load_certificate(pki.pem("from_b"))
    # then
    assert info.subject_serial_number is None
    assert info.subject == "CN=李四"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   \n", id="blank"),
        pytest.param(b"this is not a certificate", id="garbage"),
        pytest.param(b"\x30\x82\x01\x00" + b"\x00" * 10, id="bad-der"),
        pytest.param(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", id="pem-garbage"),
        pytest.param(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", id="pem-no-cert"),
        pytest.param(b"\x30" * (64 * 1024 + 1), id="too-large"),
    ],
)
def test_load_certificate_refuses_what_is_not_a_certificate(data):
    # when
    error = rejection(lambda: load_certificate(data))
    # then
    assert error.details["reason"] == "malformed"


def test_load_certificate_refuses_truncated_der(pki):
    # given
    der = pki.der("signing")
    # when
    error = rejection(lambda: load_certificate(der[: len(der) - 20]))
    # then
    assert error.details == {"reason": "malformed"}
    assert error.message.startswith("The file is not a readable X.509 certificate")


def test_load_certificate_refuses_trailing_bytes(pki):
    # when
    error = rejection(lambda: load_certificate(pki.der("signing") + b"\x00"))
    # then
    assert error.reason is Reason.MALFORMED


def test_load_certificate_refuses_a_bundle_of_several(pki):
    # when
    error = rejection(lambda: load_certificate(pki.pem("signing") + pki.pem("inter_a")))
    # then
    assert error.reason is Reason.MALFORMED
    assert error.message == "The PEM file holds 2 certificates; upload only your own certificate."


def test_load_pem_bundle_returns_every_certificate_in_order(pki):
    # given
    bundle = pki.pem("root_a") + b"\n# a comment between blocks\n" + pki.pem("root_b") + pki.pem("inter_a")
    # when
    ders = load_pem_bundle(bundle)
    # then
    assert ders == [pki.der("root_a"), pki.der("root_b"), pki.der("inter_a")]


def test_load_pem_bundle_skips_other_blocks(pki):
    # given
    bundle = pki.path("person.key").read_bytes() + pki.pem("root_a")
    # when / then
    assert load_pem_bundle(bundle) == [pki.der("root_a")]


def test_load_pem_bundle_refuses_der(pki):
    # when
    error = rejection(lambda: load_pem_bundle(pki.der("root_a")))
    # then
    assert error.reason is Reason.MALFORMED


# --- accepted certificates


def test_leaf_validates_through_an_intermediate(validate, pki):
    # when
    info = validate("signing")
    # then
    assert info.fingerprint == load_certificate(pki.pem("signing")).fingerprint


def test_encryption_certificate_validates_for_encryption(validate):
    # when
    info = validate("encryption", usage="encryption")
    # then
    assert "keyEncipherment" in info.key_usage


def test_ec_p256_signing_certificate_validates(validate):
    # when
    info = validate("ec_signing")
    # then
    assert info.key_algorithm == "ec-secp256r1"


def test_leaf_issued_directly_by_a_root_validates(validate):
    # when / then
    assert validate("direct").issuer == "CN=Test Root A,O=Test CA A,C=CN"


def test_two_independent_roots_are_both_trusted(pki, valid_at):
    # given: CA mutual recognition, two roots of different CAs (RSA and EC) trusted at once
    roots = [pki.der("root_a"), pki.der("root_b")]
    # when
    from_a = validate_certificate(
        pki.pem("signing"),
        usage="signing",
        trust_roots=roots,
        intermediates=[pki.der("inter_a")],
        now=valid_at,
    )
    from_b = validate_certificate(pki.pem("from_b"), usage="signing", trust_roots=roots, now=valid_at)
    # then
    assert from_a.issuer == "CN=Test Intermediate A,O=Test CA A,C=CN"
    assert from_b.issuer == "CN=Test Root B,O=Test CA B,C=CN"


def test_an_intermediate_may_itself_be_configured_as_trust_root(pki, valid_at):
    # when
    info = validate_certificate(
        pki.pem("signing"), usage="signing", trust_roots=[pki.der("inter_a")], now=valid_at
    )
    # then
    assert info.subject_serial_number == USCC


def test_validation_works_inside_a_running_event_loop(pki, valid_at):
    # given: an async view calling the synchronous API
    import asyncio

    async def in_loop() -> CertificateInfo:
        return validate_certificate(
            pki.pem("from_b"), usage="signing", trust_roots=[pki.der("root_b")], now=valid_at
        )

    # when
    info = asyncio.run(in_loop())
    # then
    assert info.subject == "CN=李四"


# --- refused certificates, one reason each


def test_untrusted_root_is_refused(validate):
    # when
    error = rejection(lambda: validate("untrusted"))
    # then
    assert error.reason is Reason.UNTRUSTED
    assert error.details["reason"] == "untrusted"
    assert error.message.startswith("The certificate was issued by CN=Unknown Root X, which leads to no CA")


def test_missing_intermediate_is_refused_as_untrusted(validate):
    # when
    error = rejection(lambda: validate("signing", intermediates=[]))
    # then
    assert error.reason is Reason.UNTRUSTED
    assert "together with its intermediate CA certificates" in error.message


def test_leaf_of_another_trusted_ca_is_refused_when_that_ca_is_not_configured(validate, pki):
    # when
    error = rejection(lambda: validate("from_b", trust_roots=[pki.der("root_a")]))
    # then
    assert error.reason is Reason.UNTRUSTED


def test_no_trust_roots_trusts_nothing(validate):
    # when
    error = rejection(lambda: validate("signing", trust_roots=[]))
    # then
    assert error.reason is Reason.UNTRUSTED


def test_self_signed_end_entity_is_refused_as_untrusted(validate):
    # when
    error = rejection(lambda: validate("self_signed"))
    # then
    assert error.reason is Reason.UNTRUSTED
    assert error.message == "The certificate is self-signed; upload a certificate issued by a recognised CA."


def test_expired_certificate_is_refused(validate, pki):
    # given
    not_after = pki.info("signing").not_after
    # when
    error = rejection(lambda: validate("signing", now=not_after + timedelta(days=1)))
    # then
    assert error.reason is Reason.EXPIRED
    assert error.message == f"The certificate expired on {not_after:%Y-%m-%d}; upload a current one."


def test_certificate_is_valid_until_its_last_second(validate, pki):
    # when / then
    assert validate("signing", now=pki.info("signing").not_after).serial == pki.info("signing").serial


def test_not_yet_valid_certificate_is_refused(validate, pki):
    # given: a leaf issued by the root itself, whose own validity is not checked (it is the trust anchor)
    not_before = pki.info("direct").not_before
    # when
    error = rejection(lambda: validate("direct", now=not_before - timedelta(days=1)))
    # then
    assert error.reason is Reason.NOT_YET_VALID
    assert (
        error.message
        == f"The certificate is not valid before {not_before:%Y-%m-%d}; upload it from that day on."
    )


def test_intermediate_not_yet_valid_is_refused(validate, pki):
    # when
    error = rejection(lambda: validate("signing", now=pki.info("inter_a").not_before - timedelta(days=1)))
    # then
    assert error.reason is Reason.NOT_YET_VALID
    assert error.message.startswith("A CA certificate in its chain is not valid before")


def test_expired_intermediate_is_refused_while_the_leaf_is_still_valid(validate, pki):
    # given
    intermediate_end = pki.info("inter_short").not_after
    moment = intermediate_end + timedelta(hours=1)
    assert pki.info("via_short").not_after > moment
    # when
    error = rejection(lambda: validate("via_short", now=moment))
    # then
    assert error.reason is Reason.EXPIRED
    assert error.message == (
        f"A CA certificate in its chain expired on {intermediate_end:%Y-%m-%d}; "
        "ask your CA for its current chain."
    )


def test_signing_certificate_is_refused_for_encryption(validate):
    # when
    error = rejection(lambda: validate("signing", usage="encryption"))
    # then
    assert error.reason is Reason.WRONG_KEY_USAGE
    assert error.details == {
        "reason": "wrong_key_usage",
        "key_usage": ["digitalSignature", "nonRepudiation"],
        "required": ["keyEncipherment"],
    }
    assert error.message == (
        "This certificate is for digitalSignature, nonRepudiation, not for encryption; "
        "upload your encryption certificate (key usage keyEncipherment)."
    )


def test_encryption_certificate_is_refused_for_signing(validate):
    # when
    error = rejection(lambda: validate("encryption"))
    # then
    assert error.reason is Reason.WRONG_KEY_USAGE
    assert error.details["required"] == ["digitalSignature", "nonRepudiation"]


def test_certificate_without_key_usage_is_refused(validate):
    # when
    error = rejection(lambda: validate("no_key_usage"))
    # then
    assert error.reason is Reason.WRONG_KEY_USAGE
    assert error.message.startswith("The certificate does not state its key usage")


def test_ca_certificate_uploaded_as_end_entity_is_refused(validate):
    # when
    root = rejection(lambda: validate("root_a"))
    intermediate = rejection(lambda: validate("inter_a"))
    # then
    assert root.reason is Reason.IS_CA
    assert intermediate.reason is Reason.IS_CA
    assert intermediate.message.startswith(
        "This is a CA certificate (CN=Test Intermediate A,O=Test CA A,C=CN)"
    )


def test_rsa_1024_is_refused_as_weak(validate):
    # when
    error = rejection(lambda: validate("rsa1024"))
    # then
    assert error.reason is Reason.WEAK_KEY
    assert error.details == {"reason": "weak_key", "key_algorithm": "rsa-1024"}


@pytest.mark.parametrize("name", ["p384", "ed25519"])
def test_unsupported_signing_keys_are_refused(validate, name):
    # when
    error = rejection(lambda: validate(name))
    # then
    assert error.reason is Reason.UNSUPPORTED_KEY
    assert error.message.endswith("tenderhall accepts RSA 2048+ bits, EC secp256r1.")


def test_ec_encryption_certificate_is_refused_until_ecdh_recipients_exist(validate):
    # when
    error = rejection(lambda: validate("ec_agreement", usage="encryption"))
    # then
    assert error.reason is Reason.UNSUPPORTED_KEY
    assert "RSA key transport" in error.message


def test_sha1_signature_is_refused(validate):
    # when
    error = rejection(lambda: validate("sha1"))
    # then
    assert error.reason is Reason.WEAK_SIGNATURE
    assert "sha1_rsa" in error.details["detail"]


def test_altered_certificate_is_refused_as_invalid_chain(validate, pki):
    # given: one flipped bit in the signature
    der = bytearray(pki.der("signing"))
    der[-1] ^= 0x01
    # when
    error = rejection(
        lambda: validate_certificate(
            bytes(der),
            usage="signing",
            trust_roots=[pki.der("root_a")],
            intermediates=[pki.der("inter_a")],
            now=pki.info("signing").not_before + timedelta(hours=1),
        )
    )
    # then
    assert error.reason is Reason.INVALID_CHAIN
    assert "could not be verified" in error.details["detail"]


def test_certificate_issued_by_an_end_entity_is_refused_as_invalid_chain(validate, pki):
    # when
    error = rejection(
        lambda: validate("issued_by_leaf", intermediates=[pki.der("inter_a"), pki.der("signing")])
    )
    # then
    assert error.reason is Reason.INVALID_CHAIN
    assert "is not a CA" in error.details["detail"]


@pytest.fixture(scope="module")
def crl_of_intermediate_a(pki: OpensslPki, valid_at: datetime) -> bytes:
    """A CRL of intermediate A, issued half an hour before ``valid_at``, that lists the "revocable" leaf."""
    ca_key = serialization.load_pem_private_key(pki.path("inter_a.key").read_bytes(), password=None)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    issued_at = valid_at - timedelta(minutes=30)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(x509.load_pem_x509_certificate(pki.pem("inter_a")).subject)
        .last_update(issued_at)
        .next_update(valid_at + timedelta(days=7))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(int(pki.info("revocable").serial, 16))
            .revocation_date(issued_at)
            .build()
        )
        .sign(ca_key, hashes.SHA256())
    )
    return crl.public_bytes(serialization.Encoding.DER)


def test_revoked_certificate_is_refused_when_the_crl_is_given(validate, crl_of_intermediate_a, valid_at):
    # when
    error = rejection(lambda: validate("revocable", crls=[crl_of_intermediate_a]))
    # then
    assert error.reason is Reason.REVOKED
    revoked_on = (valid_at - timedelta(minutes=30)).strftime("%Y-%m-%d")
    assert error.message == (
        f"The certificate or a CA certificate in its chain was revoked on {revoked_on}; "
        "ask your CA for a new certificate."
    )


def test_certificate_not_listed_in_the_crl_is_accepted(validate, crl_of_intermediate_a):
    # when / then
    assert validate("signing", crls=[crl_of_intermediate_a]).subject_serial_number == USCC


def test_revocation_is_not_checked_without_a_crl(validate):
    # given: the certificate names a CRL distribution point, but nothing is fetched (soft-fail)
    # when / then
    assert validate("revocable").subject_serial_number == USCC


def test_malformed_upload_is_refused_before_validation(pki, valid_at):
    # when
    error = rejection(
        lambda: validate_certificate(
            b"garbage", usage="signing", trust_roots=[pki.der("root_a")], now=valid_at
        )
    )
    # then
    assert error.reason is Reason.MALFORMED


def test_malformed_intermediate_is_refused(validate):
    # when
    error = rejection(lambda: validate("signing", intermediates=[b"\x30\x03\x02\x01\x00"]))
    # then
    assert error.reason is Reason.MALFORMED
    assert error.message.startswith("Intermediate certificate 1 is not a readable X.509 certificate")


def test_programming_errors_are_not_rejections(pki, valid_at):
    # when / then
    with pytest.raises(ValueError, match="usage must be one of"):
        validate_certificate(pki.pem("signing"), usage="login", trust_roots=[], now=valid_at)
    with pytest.raises(ValueError, match="aware"):
        validate_certificate(pki.pem("signing"), usage="signing", trust_roots=[], now=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="Trust root 1 is not a DER certificate"):
        validate_certificate(pki.pem("signing"), usage="signing", trust_roots=[b"nope"], now=valid_at)


# --- the key policy


@pytest.mark.parametrize(
    ("key_algorithm", "usage", "expected"),
    [
        ("rsa-2048", "signing", None),
        ("rsa-2048", "encryption", None),
        ("rsa-4096", "encryption", None),
        ("rsa-2047", "signing", Reason.WEAK_KEY),
        ("rsa-1024", "encryption", Reason.WEAK_KEY),
        ("rsa-16385", "signing", Reason.UNSUPPORTED_KEY),
        ("ec-secp256r1", "signing", None),
        ("ec-secp256r1", "encryption", Reason.UNSUPPORTED_KEY),
        ("ec-secp384r1", "signing", Reason.UNSUPPORTED_KEY),
        ("ec-1.2.156.10197.1.301", "signing", Reason.UNSUPPORTED_KEY),
        ("ed25519", "signing", Reason.UNSUPPORTED_KEY),
        ("dsa", "signing", Reason.UNSUPPORTED_KEY),
    ],
)
def test_key_policy(key_algorithm, usage, expected):
    # when
    problem = key_problem(key_algorithm, usage=usage)
    # then
    assert (problem[0] if problem else None) == expected
