"""The TSA's key and certificate from the demo CA (or an operator's file), and the receipt key, on disk."""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import LazySettings

from tenderhall.accounts.demo_ca import CLOCK_SKEW, demo_ca_load_or_create
from tenderhall.accounts.trust import demo_ca_directory
from tenderhall.accounts.tsa_keys import (
    RECEIPT_KEY_FILE,
    RECEIPT_PUBLIC_KEY_FILE,
    RENEW_BEFORE,
    TSA_CERTIFICATE_FILE,
    TSA_COMMON_NAME,
    TSA_KEY_FILE,
    TSA_VALIDITY,
    TsaKeyError,
    receipt_directory,
    receipt_signer_load_or_create,
    tsa_directory,
    tsa_signer_load_or_create,
)
from tenderhall.core.receipts import receipt_build, receipt_sign, receipt_verify
from tenderhall.core.tsa import TsaSigner, tsa_timestamp, tsa_token_verify
from tenderhall.ledger import conf as ledger_conf
from tenderhall.ledger.keys import load_or_create_key

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DATA = b"sealed bid ciphertext"
DIGEST = hashlib.sha256(DATA).digest()


@pytest.fixture(autouse=True)
def _embedded(settings: LazySettings) -> None:
    settings.TENDERHALL_MODE = "embedded"
    settings.TENDERHALL_DEMO_CA = True


def demo_root_der() -> bytes:
    return demo_ca_load_or_create(demo_ca_directory(), now=NOW).root_der


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_first_use_makes_a_tsa_certificate_from_the_demo_ca() -> None:
    # when
    signer = tsa_signer_load_or_create(now=NOW)
    # then: the files, with their modes
    key_path = tsa_directory() / TSA_KEY_FILE
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tsa_directory() / TSA_CERTIFICATE_FILE).stat().st_mode) == 0o644
    assert (tsa_directory() / TSA_CERTIFICATE_FILE).read_bytes() == signer.x509_certificate.public_bytes(
        serialization.Encoding.PEM
    )
    # and the certificate RFC 3161 §2.3 asks for, issued by the demo root
    certificate = signer.x509_certificate
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert (eku.critical, list(eku.value)) == (True, [ExtendedKeyUsageOID.TIME_STAMPING])
    key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert key_usage.critical
    assert key_usage.value.digital_signature
    assert not key_usage.value.content_commitment
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == TSA_COMMON_NAME
    assert isinstance(signer.private_key, ec.EllipticCurvePrivateKey)
    assert certificate.not_valid_before_utc == NOW - CLOCK_SKEW
    assert certificate.not_valid_after_utc == NOW + TSA_VALIDITY
    root = demo_ca_load_or_create(demo_ca_directory(), now=NOW)
    certificate.verify_directly_issued_by(root.certificate)
    assert signer.chain == ()


def test_the_same_signer_comes_back_on_later_calls() -> None:
    first = tsa_signer_load_or_create(now=NOW)
    second = tsa_signer_load_or_create(now=NOW + timedelta(days=100))
    assert second.certificate == first.certificate


def test_openssl_accepts_a_token_from_the_embedded_tsa_against_the_demo_root(tmp_path: Path) -> None:
    # given
    signer = tsa_signer_load_or_create(now=NOW)
    (tmp_path / "token.der").write_bytes(tsa_timestamp(digest=DIGEST, now=NOW, serial=1, signer=signer))
    (tmp_path / "data.bin").write_bytes(DATA)
    root_pem = demo_ca_directory() / "root.pem"
    # when
    result = openssl(
        "ts", "-verify", "-token_in", "-in", "token.der", "-data", "data.bin",
        "-CAfile", str(root_pem), "-attime", str(int(NOW.timestamp())), cwd=tmp_path,
    )  # fmt: skip
    # then
    assert result.returncode == 0, result.stderr
    assert tsa_token_verify(
        (tmp_path / "token.der").read_bytes(), digest=DIGEST, trust_roots=[demo_root_der()]
    ).tsa_subject.startswith(f"CN={TSA_COMMON_NAME}")


def test_the_certificate_is_renewed_ahead_of_its_end_and_old_tokens_still_verify() -> None:
    # given
    old = tsa_signer_load_or_create(now=NOW)
    old_token = tsa_timestamp(digest=DIGEST, now=NOW, serial=1, signer=old)
    later = old.x509_certificate.not_valid_after_utc - RENEW_BEFORE + timedelta(days=1)
    # when
    new = tsa_signer_load_or_create(now=later)
    # then
    assert new.certificate != old.certificate
    assert new.private_key.public_key() != old.private_key.public_key()
    assert new.x509_certificate.not_valid_before_utc == later - CLOCK_SKEW
    roots = [demo_root_der()]
    assert tsa_token_verify(old_token, digest=DIGEST, trust_roots=roots).gen_time == NOW
    assert (
        tsa_token_verify(
            tsa_timestamp(digest=DIGEST, now=later, serial=2, signer=new), digest=DIGEST, trust_roots=roots
        ).gen_time
        == later
    )


def test_a_new_demo_ca_gets_a_new_tsa_certificate() -> None:
    # given
    old = tsa_signer_load_or_create(now=NOW)
    shutil.rmtree(demo_ca_directory())
    # when
    new = tsa_signer_load_or_create(now=NOW)
    # then
    assert new.certificate != old.certificate
    token = tsa_timestamp(digest=DIGEST, now=NOW, serial=1, signer=new)
    assert tsa_token_verify(token, digest=DIGEST, trust_roots=[demo_root_der()]).serial == 1


def test_processes_starting_at_once_agree_on_one_key() -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        signers = list(pool.map(lambda _: tsa_signer_load_or_create(now=NOW), range(8)))
    assert len({signer.certificate for signer in signers}) == 1


def test_a_key_file_readable_by_others_is_refused() -> None:
    tsa_signer_load_or_create(now=NOW)
    (tsa_directory() / TSA_KEY_FILE).chmod(0o644)
    with pytest.raises(TsaKeyError, match="chmod 600"):
        tsa_signer_load_or_create(now=NOW)


def test_a_damaged_key_file_is_refused() -> None:
    tsa_signer_load_or_create(now=NOW)
    (tsa_directory() / TSA_KEY_FILE).write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(TsaKeyError, match="not a usable TSA key file"):
        tsa_signer_load_or_create(now=NOW)


def write_operator_file(*, eku: bool, days: int = 365) -> TsaSigner:
    """An operator's TSA key file: a key and a certificate from some CA (here the demo CA's key, by hand)."""
    ca = demo_ca_load_or_create(demo_ca_directory(), now=NOW)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "operator TSA")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
    )
    if eku:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    certificate = builder.sign(ca.private_key, hashes.SHA256())
    path = tsa_directory() / TSA_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + certificate.public_bytes(serialization.Encoding.PEM)
        + ca.root_pem
    )
    path.chmod(0o600)
    return TsaSigner(
        private_key=key,
        certificate=certificate.public_bytes(serialization.Encoding.DER),
        chain=(ca.root_der,),
    )


def test_without_the_demo_ca_a_missing_key_is_a_configuration_error(settings: LazySettings) -> None:
    settings.TENDERHALL_DEMO_CA = False
    with pytest.raises(TsaKeyError, match="has no key"):
        tsa_signer_load_or_create(now=NOW)
    assert not (tsa_directory() / TSA_KEY_FILE).exists()


def test_without_the_demo_ca_an_operator_file_is_used_as_it_is(settings: LazySettings) -> None:
    # given
    expected = write_operator_file(eku=True)
    settings.TENDERHALL_MODE = "production"
    settings.TENDERHALL_DEMO_CA = False
    # when
    signer = tsa_signer_load_or_create(now=NOW)
    # then
    assert (signer.certificate, signer.chain) == (expected.certificate, expected.chain)
    with pytest.raises(TsaKeyError, match="valid from"):
        tsa_signer_load_or_create(now=NOW + timedelta(days=400))


def test_an_operator_certificate_without_time_stamping_usage_is_refused(settings: LazySettings) -> None:
    write_operator_file(eku=False)
    settings.TENDERHALL_DEMO_CA = False
    with pytest.raises(TsaKeyError, match="not a TSA certificate"):
        tsa_signer_load_or_create(now=NOW)


def test_the_receipt_key_is_made_once_with_its_public_key_beside_it() -> None:
    # when
    first = receipt_signer_load_or_create()
    second = receipt_signer_load_or_create()
    # then
    assert first.key_id == second.key_id
    assert stat.S_IMODE((receipt_directory() / RECEIPT_KEY_FILE).stat().st_mode) == 0o600
    public_pem = (receipt_directory() / RECEIPT_PUBLIC_KEY_FILE).read_bytes()
    assert public_pem == first.public_key_pem()
    public_key = serialization.load_pem_public_key(public_pem)
    assert isinstance(public_key, Ed25519PublicKey)
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert first.key_id == hashlib.sha256(spki).hexdigest()
    signed = receipt_sign(receipt_build(fields={"bid": "b-1"}), key=first.private_key, key_id=first.key_id)
    assert receipt_verify(signed, public_key=public_key) == {"format": "tenderhall.receipt/1", "bid": "b-1"}


def test_the_receipt_key_is_not_the_ledger_log_key() -> None:
    receipt_key = receipt_signer_load_or_create().public_key
    log_key = load_or_create_key(ledger_conf.log_key_file()).public_key()
    assert receipt_key != log_key


def test_a_checked_signer_is_reused_until_its_files_change_or_its_span_ends(monkeypatch) -> None:
    from tenderhall.accounts import tsa_keys

    # given: a signer checked once
    first = tsa_signer_load_or_create(now=NOW)
    calls: list[datetime] = []
    full_check = tsa_keys._tsa_signer_checked

    def counted(key_path: Path, *, demo: bool, now: datetime) -> TsaSigner:
        calls.append(now)
        return full_check(key_path, demo=demo, now=now)

    monkeypatch.setattr(tsa_keys, "_tsa_signer_checked", counted)
    # when / then: the next bids reuse it without the full check
    assert tsa_signer_load_or_create(now=NOW + timedelta(hours=1)) is first
    assert calls == []
    # a key file made unsafe is noticed at once (its ctime changes)
    key_path = tsa_directory() / TSA_KEY_FILE
    key_path.chmod(0o644)
    with pytest.raises(TsaKeyError, match="chmod 600"):
        tsa_signer_load_or_create(now=NOW + timedelta(hours=2))
    key_path.chmod(0o600)
    assert tsa_signer_load_or_create(now=NOW + timedelta(hours=3)).certificate == first.certificate
    # and near its renewal the full check runs again (and renews)
    late = first.x509_certificate.not_valid_after_utc - RENEW_BEFORE + timedelta(days=1)
    renewed = tsa_signer_load_or_create(now=late)
    assert renewed.certificate != first.certificate
    assert len(calls) == 3
