"""The demo CA: its root on disk, and certificates it issues that both tenderhall and openssl accept."""

from __future__ import annotations

import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from tenderhall.accounts.certificates import CertificateRejected, Reason, validate_certificate
from tenderhall.accounts.demo_ca import (
    CLOCK_SKEW,
    KEY_FILE,
    ROOT_COMMON_NAME,
    ROOT_FILE,
    CsrRejected,
    DemoCA,
    DemoCAError,
    demo_ca_load_or_create,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
USCC = "91110000MA01234567"


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)


def openssl_ok(*args: str, cwd: Path) -> str:
    result = openssl(*args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def openssl_verify(
    ca: DemoCA, cert_pem: bytes, *, at: datetime, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """openssl verify, strict X.509 checks, at the given time (not the system clock)."""
    (cwd / "root.pem").write_bytes(ca.root_pem)
    (cwd / "cert.pem").write_bytes(cert_pem)
    return openssl(
        "verify",
        "-x509_strict",
        "-attime",
        str(int(at.timestamp())),
        "-CAfile",
        "root.pem",
        "cert.pem",
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-ca-work")


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> DemoCA:
    return demo_ca_load_or_create(tmp_path_factory.mktemp("data") / "demo-ca", now=NOW)


@pytest.fixture(scope="module")
def openssl_csrs(workdir: Path) -> dict[str, bytes]:
    """Requests made by openssl req, the independent peer, one per case."""
    cases = {
        "rsa": ("rsa:2048", f"/C=CN/O=示例建设有限公司/CN=张三/serialNumber={USCC}", []),
        "ec": ("ec", "/CN=EC Signer", ["-pkeyopt", "ec_paramgen_curve:P-256"]),
        "rsa1024": ("rsa:1024", "/CN=Weak", []),
        "no_cn": ("rsa:2048", "/O=Nameless Ltd", []),
        "asks_ca": ("rsa:2048", "/CN=Wants To Be A CA", ["-addext", "basicConstraints=critical,CA:TRUE"]),
    }
    csrs = {}
    for name, (newkey, subject, extra) in cases.items():
        openssl_ok(
            "req", "-new", "-newkey", newkey, *extra, "-nodes", "-keyout", f"{name}.key", "-utf8",
            "-subj", subject, "-out", f"{name}.csr", cwd=workdir,
        )  # fmt: skip
        csrs[name] = (workdir / f"{name}.csr").read_bytes()
    return csrs


E = TypeVar("E", bound=x509.ExtensionType)


def extension(cert: x509.Certificate, kind: type[E]) -> x509.Extension[E]:
    return cert.extensions.get_extension_for_class(kind)


# --- the root


def test_first_use_creates_the_root_with_a_private_key_file_only_the_owner_reads(tmp_path):
    # given
    directory = tmp_path / "demo-ca"
    # when
    ca = demo_ca_load_or_create(directory, now=NOW)
    # then
    assert stat.S_IMODE((directory / KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert (directory / ROOT_FILE).read_bytes() == ca.root_pem
    assert sorted(p.name for p in directory.iterdir()) == [KEY_FILE, ROOT_FILE]


def test_second_use_loads_the_same_root(tmp_path):
    # given
    first = demo_ca_load_or_create(tmp_path, now=NOW)
    # when
    second = demo_ca_load_or_create(tmp_path, now=NOW + timedelta(days=400))
    # then
    assert second.root_der == first.root_der


def test_root_pem_is_written_again_when_missing(tmp_path):
    # given
    ca = demo_ca_load_or_create(tmp_path, now=NOW)
    (tmp_path / ROOT_FILE).unlink()
    # when
    demo_ca_load_or_create(tmp_path, now=NOW)
    # then
    assert (tmp_path / ROOT_FILE).read_bytes() == ca.root_pem


def test_processes_starting_together_end_up_with_one_root(tmp_path):
    # when
    with ThreadPoolExecutor(max_workers=4) as pool:
        roots = list(pool.map(lambda _: demo_ca_load_or_create(tmp_path, now=NOW).root_der, range(8)))
    # then
    assert len(set(roots)) == 1
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_root_is_a_ca_clearly_marked_as_a_demo(ca):
    # given
    root = ca.certificate
    # when
    constraints = extension(root, x509.BasicConstraints)
    key_usage = extension(root, x509.KeyUsage).value
    # then
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "tenderhall 演示CA (仅供测试)"
    assert ROOT_COMMON_NAME == "tenderhall 演示CA (仅供测试)"
    assert root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "tenderhall DEMO CA - NOT FOR PRODUCTION"
    )
    assert root.issuer == root.subject
    assert constraints.critical is True
    assert constraints.value == x509.BasicConstraints(ca=True, path_length=0)
    assert key_usage.key_cert_sign is True
    assert key_usage.crl_sign is True
    assert key_usage.digital_signature is False
    assert isinstance(ca.private_key.curve, ec.SECP256R1)
    assert root.not_valid_before_utc == NOW - CLOCK_SKEW
    assert root.not_valid_after_utc == NOW + timedelta(days=20 * 365)


def test_openssl_accepts_the_root_as_a_self_signed_ca(ca, workdir):
    # when
    result = openssl_verify(ca, ca.root_pem, at=NOW, cwd=workdir)
    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "cert.pem: OK"


def test_damaged_key_file_is_reported_with_its_path(tmp_path):
    # given
    demo_ca_load_or_create(tmp_path, now=NOW)
    (tmp_path / KEY_FILE).write_bytes(b"not a key")
    # when / then
    with pytest.raises(DemoCAError, match=rf"{tmp_path / KEY_FILE} is damaged .* delete the directory"):
        demo_ca_load_or_create(tmp_path, now=NOW)


def test_key_file_readable_by_others_is_refused(tmp_path):
    # given
    demo_ca_load_or_create(tmp_path, now=NOW)
    (tmp_path / KEY_FILE).chmod(0o644)
    # when / then
    with pytest.raises(DemoCAError, match=r"has mode 0644; run: chmod 600"):
        demo_ca_load_or_create(tmp_path, now=NOW)


def test_key_of_another_root_is_refused(tmp_path):
    # given: the key of one demo CA next to the certificate of another
    one = demo_ca_load_or_create(tmp_path / "one", now=NOW)
    other = demo_ca_load_or_create(tmp_path / "other", now=NOW)
    key_pem = one.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "one" / KEY_FILE).write_bytes(key_pem + other.root_pem)
    # when / then
    with pytest.raises(DemoCAError, match="the private key does not belong to the certificate"):
        demo_ca_load_or_create(tmp_path / "one", now=NOW)


def test_expired_root_is_reported(tmp_path):
    # given
    ca = demo_ca_load_or_create(tmp_path, now=NOW)
    # when / then
    with pytest.raises(DemoCAError, match=r"expired on .*; delete the directory to make a new one"):
        demo_ca_load_or_create(tmp_path, now=ca.certificate.not_valid_after_utc + timedelta(seconds=1))


# --- issuing from requests


def test_signing_certificate_from_an_openssl_request(ca, openssl_csrs, workdir):
    # when
    cert_pem = ca.issue_from_csr(openssl_csrs["rsa"], usage="signing", now=NOW)
    # then: tenderhall and openssl both accept it
    info = validate_certificate(cert_pem, usage="signing", trust_roots=[ca.root_der], now=NOW)
    result = openssl_verify(ca, cert_pem, at=NOW, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "cert.pem: OK"
    assert info.subject == f"serialNumber={USCC},CN=张三,O=示例建设有限公司,C=CN"
    assert info.subject_serial_number == USCC
    assert info.key_usage == ("digitalSignature", "nonRepudiation")
    assert info.not_before == NOW - CLOCK_SKEW
    assert info.not_after == NOW + timedelta(days=365)


def test_issued_certificate_carries_the_profile_extensions(ca, openssl_csrs):
    # when
    cert = x509.load_pem_x509_certificate(ca.issue_from_csr(openssl_csrs["rsa"], usage="signing", now=NOW))
    # then
    constraints = extension(cert, x509.BasicConstraints)
    key_usage = extension(cert, x509.KeyUsage)
    ski = extension(cert, x509.SubjectKeyIdentifier).value
    aki = extension(cert, x509.AuthorityKeyIdentifier).value
    root_ski = extension(ca.certificate, x509.SubjectKeyIdentifier).value
    assert constraints.critical is True
    assert constraints.value.ca is False
    assert key_usage.critical is True
    assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    assert aki.key_identifier == root_ski.digest
    assert cert.issuer == ca.certificate.subject
    assert [e.oid for e in cert.extensions] == [
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ]


def test_encryption_certificate_from_an_openssl_request(ca, openssl_csrs, workdir):
    # when
    cert_pem = ca.issue_from_csr(openssl_csrs["rsa"], usage="encryption", now=NOW, days=30)
    # then
    info = validate_certificate(cert_pem, usage="encryption", trust_roots=[ca.root_der], now=NOW)
    assert info.key_usage == ("keyEncipherment",)
    assert info.not_after == NOW + timedelta(days=30)
    assert openssl_verify(ca, cert_pem, at=NOW, cwd=workdir).returncode == 0
    with pytest.raises(CertificateRejected) as caught:
        validate_certificate(cert_pem, usage="signing", trust_roots=[ca.root_der], now=NOW)
    assert caught.value.reason is Reason.WRONG_KEY_USAGE


def test_ec_p256_signing_certificate_from_an_openssl_request(ca, openssl_csrs, workdir):
    # when
    cert_pem = ca.issue_from_csr(openssl_csrs["ec"], usage="signing", now=NOW)
    # then
    info = validate_certificate(cert_pem, usage="signing", trust_roots=[ca.root_der], now=NOW)
    assert info.key_algorithm == "ec-secp256r1"
    assert openssl_verify(ca, cert_pem, at=NOW, cwd=workdir).returncode == 0


def test_openssl_refuses_an_issued_certificate_outside_its_validity(ca, openssl_csrs, workdir):
    # given
    cert_pem = ca.issue_from_csr(openssl_csrs["rsa"], usage="signing", now=NOW, days=10)
    # when
    result = openssl_verify(ca, cert_pem, at=NOW + timedelta(days=11), cwd=workdir)
    # then
    assert result.returncode != 0
    assert "certificate has expired" in result.stdout + result.stderr


def test_request_extensions_are_ignored_the_ca_decides(ca, openssl_csrs):
    # when
    cert = x509.load_pem_x509_certificate(
        ca.issue_from_csr(openssl_csrs["asks_ca"], usage="signing", now=NOW)
    )
    # then
    assert extension(cert, x509.BasicConstraints).value.ca is False


def test_request_with_a_bad_signature_is_refused(ca, openssl_csrs):
    # given: the name changed after signing
    der = x509.load_pem_x509_csr(openssl_csrs["rsa"]).public_bytes(serialization.Encoding.DER)
    tampered = der.replace(USCC.encode(), USCC[:-1].encode() + b"8")
    assert tampered != der
    # when
    with pytest.raises(CsrRejected) as caught:
        ca.issue_from_csr(tampered, usage="signing", now=NOW)
    # then
    assert caught.value.code == "csr_rejected"
    assert caught.value.details == {"reason": "bad_signature"}
    assert caught.value.message.startswith("The request's signature does not verify")


def test_request_with_a_weak_key_is_refused(ca, openssl_csrs):
    # when
    with pytest.raises(CsrRejected) as caught:
        ca.issue_from_csr(openssl_csrs["rsa1024"], usage="signing", now=NOW)
    # then
    assert caught.value.details == {"reason": "weak_key"}
    assert caught.value.message.startswith("The RSA key has 1024 bits; tenderhall needs at least 2048.")


def test_ec_request_for_encryption_is_refused(ca, openssl_csrs):
    # when
    with pytest.raises(CsrRejected) as caught:
        ca.issue_from_csr(openssl_csrs["ec"], usage="encryption", now=NOW)
    # then
    assert caught.value.details == {"reason": "unsupported_key"}


def test_request_without_common_name_is_refused(ca, openssl_csrs):
    # when
    with pytest.raises(CsrRejected) as caught:
        ca.issue_from_csr(openssl_csrs["no_cn"], usage="signing", now=NOW)
    # then
    assert caught.value.details == {"reason": "missing_common_name"}


@pytest.mark.parametrize("data", [b"", b"garbage", b"-----BEGIN CERTIFICATE REQUEST-----\nAA==\n"])
def test_unreadable_request_is_refused(ca, data):
    # when
    with pytest.raises(CsrRejected) as caught:
        ca.issue_from_csr(data, usage="signing", now=NOW)
    # then
    assert caught.value.details == {"reason": "malformed"}


def test_truncated_request_is_refused(ca, openssl_csrs):
    # given
    der = x509.load_pem_x509_csr(openssl_csrs["rsa"]).public_bytes(serialization.Encoding.DER)
    # when
    with pytest.raises(CsrRejected) as caught:
        ca.issue_from_csr(der[:-10], usage="signing", now=NOW)
    # then
    assert caught.value.details == {"reason": "malformed"}


def test_usage_and_days_are_checked(ca, openssl_csrs):
    # when / then
    with pytest.raises(ValueError, match="usage must be one of"):
        ca.issue_from_csr(openssl_csrs["rsa"], usage="login", now=NOW)
    with pytest.raises(ValueError, match="days must be between 1 and 3650"):
        ca.issue_from_csr(openssl_csrs["rsa"], usage="signing", now=NOW, days=0)


# --- demo data


def test_key_and_certificate_for_demo_data(ca, workdir):
    # when
    key_pem, cert_pem = ca.issue_key_and_certificate(
        common_name="示例建设有限公司",
        serial_number=USCC,
        usage="encryption",
        now=NOW,
        organization="示例建设有限公司",
    )
    # then
    key = serialization.load_pem_private_key(key_pem, password=None)
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert cert.public_key() == key.public_key()
    info = validate_certificate(cert_pem, usage="encryption", trust_roots=[ca.root_der], now=NOW)
    assert info.subject == f"serialNumber={USCC},CN=示例建设有限公司,O=示例建设有限公司,C=CN"
    assert openssl_verify(ca, cert_pem, at=NOW, cwd=workdir).returncode == 0
    (workdir / "demo.key").write_bytes(key_pem)
    assert openssl_ok("pkey", "-in", "demo.key", "-check", "-noout", cwd=workdir).strip() == "Key is valid"
