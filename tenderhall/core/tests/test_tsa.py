"""The platform TSA: tokens `openssl ts -verify` accepts, answers to `openssl ts -query`, our own verifier.

Every openssl check runs with ``-attime`` at the token's time, so the fixed test clock never meets the real
one.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import tsp as asn1_tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from tenderhall.core.tsa import (
    TENDERHALL_OID_ARC,
    TSA_POLICY_OID,
    TimestampDigestInvalid,
    TimestampHashUnsupported,
    TimestampNonceInvalid,
    TimestampRejected,
    TimestampSerialInvalid,
    TimestampSignerInvalid,
    TokenContentAltered,
    TokenImprintMismatch,
    TokenInfo,
    TokenMalformed,
    TokenNonceMismatch,
    TokenNotTimestampingCertificate,
    TokenSignatureInvalid,
    TokenSignerUnknown,
    TokenUntrusted,
    TsaSigner,
    tsa_response,
    tsa_serial_new,
    tsa_timestamp,
    tsa_token_from_response,
    tsa_token_verify,
)

NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
GEN_TIME = datetime(2026, 3, 2, 9, 30, 15, 123000, tzinfo=UTC)  # NOW to the millisecond
DATA = "投标文件密文 ciphertext of a sealed bid".encode()
DIGEST = hashlib.sha256(DATA).digest()
DER = serialization.Encoding.DER
PEM = serialization.Encoding.PEM


# --- a small PKI: two roots, TSA certificates good and bad


def key_usage(**flags: bool) -> x509.KeyUsage:
    names: tuple[str, ...] = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
    )
    names += ("key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{name: flags.get(name, False) for name in names})


@dataclass(frozen=True)
class Ca:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(DER)


def make_ca(name: str) -> Ca:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Ca(key=key, certificate=certificate)


def make_signer(
    ca: Ca,
    *,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None,
    eku: tuple[x509.ObjectIdentifier, ...] | None = (ExtendedKeyUsageOID.TIME_STAMPING,),
    eku_critical: bool = True,
    days: int = 365,
) -> TsaSigner:
    key = key or ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tenderhall test"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "测试时间戳服务"),
                ]
            )
        )
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(digital_signature=True), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=eku_critical)
    certificate = builder.sign(ca.key, hashes.SHA256())
    return TsaSigner(private_key=key, certificate=certificate.public_bytes(DER))


@pytest.fixture(scope="module")
def root() -> Ca:
    return make_ca("tenderhall test root")


@pytest.fixture(scope="module")
def signer(root: Ca) -> TsaSigner:
    return make_signer(root)


@pytest.fixture
def files(tmp_path: Path, root: Ca, signer: TsaSigner) -> Path:
    """A working directory with the data, the root (root.pem) and the TSA certificate (tsa.pem)."""
    (tmp_path / "data.bin").write_bytes(DATA)
    (tmp_path / "root.pem").write_bytes(root.certificate.public_bytes(PEM))
    (tmp_path / "tsa.pem").write_bytes(signer.x509_certificate.public_bytes(PEM))
    return tmp_path


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)


def openssl_ts_verify(*args: str, cwd: Path, at: datetime = NOW) -> subprocess.CompletedProcess[str]:
    return openssl(
        "ts", "-verify", *args, "-CAfile", "root.pem", "-attime", str(int(at.timestamp())), cwd=cwd
    )


def assert_verified(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert "Verification: OK" in result.stdout


def token_for(signer: TsaSigner, **overrides: object) -> bytes:
    arguments: dict[str, object] = {"digest": DIGEST, "now": NOW, "serial": 4242, "signer": signer}
    arguments.update(overrides)
    return tsa_timestamp(**arguments)  # type: ignore[arg-type]  # test helper: overrides are checked by the call


# --- openssl accepts our tokens


def test_token_verifies_with_openssl_against_the_digest_and_the_data(files: Path, signer: TsaSigner) -> None:
    # given
    (files / "token.der").write_bytes(token_for(signer))
    # when
    by_digest = openssl_ts_verify("-token_in", "-in", "token.der", "-digest", DIGEST.hex(), cwd=files)
    by_data = openssl_ts_verify("-token_in", "-in", "token.der", "-data", "data.bin", cwd=files)
    # then
    assert_verified(by_digest)
    assert_verified(by_data)


def test_openssl_refuses_the_token_for_other_data(files: Path, signer: TsaSigner) -> None:
    # given
    (files / "token.der").write_bytes(token_for(signer))
    (files / "other.bin").write_bytes(DATA + b".")
    # when
    result = openssl_ts_verify("-token_in", "-in", "token.der", "-data", "other.bin", cwd=files)
    # then
    assert result.returncode == 1
    assert "message imprint mismatch" in result.stderr


def test_a_token_without_the_certificate_needs_it_given_separately(
    files: Path, root: Ca, signer: TsaSigner
) -> None:
    # given
    (files / "token.der").write_bytes(token := token_for(signer, include_certificate=False))
    # when
    without = openssl_ts_verify("-token_in", "-in", "token.der", "-data", "data.bin", cwd=files)
    with_certificate = openssl_ts_verify(
        "-token_in", "-in", "token.der", "-data", "data.bin", "-untrusted", "tsa.pem", cwd=files
    )
    # then
    assert without.returncode == 1
    assert_verified(with_certificate)
    with pytest.raises(TokenSignerUnknown):
        tsa_token_verify(token, digest=DIGEST, trust_roots=[root.der])
    info = tsa_token_verify(token, digest=DIGEST, trust_roots=[root.der], certificates=[signer.certificate])
    assert info.serial == 4242


def test_request_and_response_round_trip_with_openssl(files: Path, root: Ca, signer: TsaSigner) -> None:
    # given: a bidder's request over the file, asking for the TSA certificate (with a random nonce)
    query = openssl("ts", "-query", "-data", "data.bin", "-sha256", "-cert", "-out", "req.tsq", cwd=files)
    assert query.returncode == 0, query.stderr
    # when
    response = tsa_response((files / "req.tsq").read_bytes(), now=NOW, serial=77, signer=signer)
    (files / "resp.tsr").write_bytes(response)
    # then: openssl checks the imprint and the nonce against the request, and the data
    assert_verified(openssl_ts_verify("-in", "resp.tsr", "-queryfile", "req.tsq", cwd=files))
    assert_verified(openssl_ts_verify("-in", "resp.tsr", "-data", "data.bin", cwd=files))
    text = openssl("ts", "-reply", "-in", "resp.tsr", "-text", cwd=files).stdout
    assert "Status: Granted." in text
    assert f"Policy OID: {TSA_POLICY_OID}" in text
    assert "Time stamp: Mar  2 09:30:15.123 2026 GMT" in text
    assert "Serial number: 0x4D" in text
    assert "Accuracy: 0x01 seconds, unspecified millis, unspecified micros" in text
    # and our verifier agrees, nonce included
    request_nonce = asn1_nonce(files / "req.tsq")
    info = tsa_token_verify(
        tsa_token_from_response(response), digest=DIGEST, trust_roots=[root.der], nonce=request_nonce
    )
    assert info.nonce == request_nonce


def asn1_nonce(path: Path) -> int:
    nonce = asn1_tsp.TimeStampReq.load(path.read_bytes())["nonce"].native
    assert isinstance(nonce, int)
    return nonce


def test_a_request_without_cert_req_gets_a_token_without_the_certificate(
    files: Path, signer: TsaSigner
) -> None:
    # given
    assert (
        openssl("ts", "-query", "-data", "data.bin", "-sha256", "-out", "req.tsq", cwd=files).returncode == 0
    )
    # when
    response = tsa_response((files / "req.tsq").read_bytes(), now=NOW, serial=78, signer=signer)
    (files / "resp.tsr").write_bytes(response)
    # then
    signed_data = asn1_cms.ContentInfo.load(tsa_token_from_response(response))["content"]
    assert signed_data["certificates"].native is None
    assert openssl_ts_verify("-in", "resp.tsr", "-queryfile", "req.tsq", cwd=files).returncode == 1
    assert_verified(
        openssl_ts_verify("-in", "resp.tsr", "-queryfile", "req.tsq", "-untrusted", "tsa.pem", cwd=files)
    )


def test_sm3_imprints_round_trip_with_openssl(files: Path, root: Ca, signer: TsaSigner) -> None:
    # given
    assert (
        openssl("ts", "-query", "-data", "data.bin", "-sm3", "-cert", "-out", "req.tsq", cwd=files).returncode
        == 0
    )
    # when
    response = tsa_response((files / "req.tsq").read_bytes(), now=NOW, serial=79, signer=signer)
    (files / "resp.tsr").write_bytes(response)
    # then
    assert_verified(openssl_ts_verify("-in", "resp.tsr", "-queryfile", "req.tsq", cwd=files))
    assert_verified(openssl_ts_verify("-in", "resp.tsr", "-data", "data.bin", cwd=files))
    sm3 = hashlib.new("sm3", DATA).digest()
    info = tsa_token_verify(
        tsa_token_from_response(response), digest=sm3, hash_algorithm="sm3", trust_roots=[root.der]
    )
    assert (info.hash_algorithm, info.digest) == ("sm3", sm3)


def test_an_rsa_tsa_key_works_too(files: Path, root: Ca) -> None:
    # given
    rsa_signer = make_signer(root, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    (files / "token.der").write_bytes(token := token_for(rsa_signer))
    # when
    result = openssl_ts_verify("-token_in", "-in", "token.der", "-data", "data.bin", cwd=files)
    # then
    assert_verified(result)
    assert tsa_token_verify(token, digest=DIGEST, trust_roots=[root.der]).serial == 4242


# --- our verifier


def test_verify_returns_what_the_token_states(root: Ca, signer: TsaSigner) -> None:
    # given
    token = token_for(signer, nonce=2**70 + 5, serial=(1 << 159) + 1)
    # when
    info = tsa_token_verify(token, digest=DIGEST, trust_roots=[root.der], nonce=2**70 + 5)
    # then
    assert info == TokenInfo(
        gen_time=GEN_TIME,
        serial=(1 << 159) + 1,
        digest=DIGEST,
        hash_algorithm="sha256",
        policy=TSA_POLICY_OID,
        tsa_subject="CN=测试时间戳服务,O=tenderhall test",
        nonce=2**70 + 5,
        accuracy=timedelta(seconds=1),
        certificate=signer.certificate,
    )
    assert TSA_POLICY_OID == "2.25.168986639521767459064117742062519170574.1.1"
    assert TSA_POLICY_OID.startswith(TENDERHALL_OID_ARC + ".")


def test_the_token_holds_the_signed_attributes_openssl_needs(signer: TsaSigner) -> None:
    # given
    token = token_for(signer)
    # when
    signer_info = asn1_cms.ContentInfo.load(token)["content"]["signer_infos"][0]
    attributes = {attribute["type"].native: attribute["values"] for attribute in signer_info["signed_attrs"]}
    # then
    assert sorted(attributes) == ["content_type", "message_digest", "signing_certificate_v2", "signing_time"]
    ess = attributes["signing_certificate_v2"][0]["certs"][0]
    assert ess["cert_hash"].native == hashlib.sha256(signer.certificate).digest()
    assert ess["issuer_serial"]["serial_number"].native == signer.x509_certificate.serial_number
    assert attributes["signing_time"][0].native == GEN_TIME.replace(microsecond=0)


@pytest.mark.parametrize("key", ["ec", "rsa"])
@pytest.mark.parametrize("with_certificate", [True, False])
def test_the_token_is_the_der_asn1crypto_writes_for_its_content(
    root: Ca, signer: TsaSigner, key: str, with_certificate: bool
) -> None:
    # given: a token put together from cached pieces
    if key == "rsa":
        signer = make_signer(root, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    token = tsa_timestamp(
        digest=DIGEST, now=GEN_TIME, serial=7, signer=signer, include_certificate=with_certificate
    )
    # when: asn1crypto parses every field and encodes the whole again from the values
    parsed = asn1_cms.ContentInfo.load(token, strict=True)
    _ = parsed.native
    # then: byte for byte the same (DER: one encoding, SET OF sorted), and the signature covers the attributes
    assert parsed.dump(force=True) == token
    signer_info = parsed["content"]["signer_infos"][0]
    assert signer_info["signature_algorithm"]["algorithm"].native == (
        "sha256_ecdsa" if key == "ec" else "rsassa_pkcs1v15"
    )
    assert bool(parsed["content"]["certificates"]) is with_certificate
    given = [] if with_certificate else [signer.certificate]
    assert tsa_token_verify(token, digest=DIGEST, trust_roots=[root.der], certificates=given).serial == 7


def test_verify_refuses_a_different_digest(root: Ca, signer: TsaSigner) -> None:
    # given
    token = token_for(signer)
    # when / then
    with pytest.raises(TokenImprintMismatch) as refused:
        tsa_token_verify(token, digest=hashlib.sha256(DATA + b".").digest(), trust_roots=[root.der])
    assert refused.value.code == "timestamp_token_imprint_mismatch"
    assert refused.value.details["token_digest"] == DIGEST.hex()
    with pytest.raises(TokenImprintMismatch):
        tsa_token_verify(token, digest=DIGEST, hash_algorithm="sm3", trust_roots=[root.der])


def test_verify_and_openssl_refuse_a_tampered_tstinfo(files: Path, root: Ca, signer: TsaSigner) -> None:
    # given: the serial number 4242 (0x1092) inside the TSTInfo becomes 4243
    token = token_for(signer)
    assert token.count(b"\x02\x02\x10\x92") == 1
    tampered = token.replace(b"\x02\x02\x10\x92", b"\x02\x02\x10\x93")
    (files / "token.der").write_bytes(tampered)
    # when / then
    with pytest.raises(TokenContentAltered) as refused:
        tsa_token_verify(tampered, digest=DIGEST, trust_roots=[root.der])
    assert refused.value.code == "timestamp_token_content_altered"
    result = openssl_ts_verify("-token_in", "-in", "token.der", "-data", "data.bin", cwd=files)
    assert result.returncode == 1


def test_verify_refuses_a_forged_signature(root: Ca, signer: TsaSigner) -> None:
    # given: a token signed by another key under the same certificate's name
    token = token_for(signer)
    other = token_for(make_signer(root))
    other_signature = asn1_cms.ContentInfo.load(other)["content"]["signer_infos"][0]["signature"].native
    info = asn1_cms.ContentInfo.load(token)
    info["content"]["signer_infos"][0]["signature"] = other_signature
    forged = info.dump(force=True)
    # when / then
    with pytest.raises(TokenSignatureInvalid):
        tsa_token_verify(forged, digest=DIGEST, trust_roots=[root.der])


def test_verify_and_openssl_refuse_a_token_from_an_untrusted_tsa(files: Path, root: Ca) -> None:
    # given: a TSA certified by another root
    stranger = make_signer(make_ca("some other root"))
    (files / "token.der").write_bytes(token := token_for(stranger))
    # when / then
    with pytest.raises(TokenUntrusted) as refused:
        tsa_token_verify(token, digest=DIGEST, trust_roots=[root.der])
    assert refused.value.code == "timestamp_token_untrusted"
    result = openssl_ts_verify("-token_in", "-in", "token.der", "-data", "data.bin", cwd=files)
    assert result.returncode == 1
    assert "unable to get local issuer certificate" in result.stderr


def test_verify_checks_the_chain_at_the_token_time_unless_told_otherwise(root: Ca) -> None:
    # given: a TSA certificate that ends ten days after the token
    short = make_signer(root, days=10)
    token = token_for(short)
    # when / then
    assert tsa_token_verify(token, digest=DIGEST, trust_roots=[root.der]).gen_time == GEN_TIME
    with pytest.raises(TokenUntrusted):
        tsa_token_verify(token, digest=DIGEST, trust_roots=[root.der], at=NOW + timedelta(days=11))


@pytest.mark.parametrize(
    ("eku", "critical"),
    [
        (None, True),
        ((ExtendedKeyUsageOID.TIME_STAMPING,), False),
        ((ExtendedKeyUsageOID.TIME_STAMPING, ExtendedKeyUsageOID.CODE_SIGNING), True),
        ((ExtendedKeyUsageOID.CLIENT_AUTH,), True),
    ],
    ids=["no-eku", "eku-not-critical", "eku-with-another-purpose", "eku-client-auth"],
)
def test_verify_and_openssl_refuse_a_certificate_not_for_time_stamping(
    files: Path, root: Ca, eku: tuple[x509.ObjectIdentifier, ...] | None, critical: bool
) -> None:
    # given
    not_a_tsa = make_signer(root, eku=eku, eku_critical=critical)
    (files / "token.der").write_bytes(token := token_for(not_a_tsa))
    # when / then
    with pytest.raises(TokenNotTimestampingCertificate) as refused:
        tsa_token_verify(token, digest=DIGEST, trust_roots=[root.der])
    assert refused.value.code == "timestamp_token_not_timestamping_certificate"
    result = openssl_ts_verify("-token_in", "-in", "token.der", "-data", "data.bin", cwd=files)
    assert result.returncode == 1
    assert "unsuitable certificate purpose" in result.stderr


def test_verify_refuses_another_nonce(root: Ca, signer: TsaSigner) -> None:
    token = token_for(signer, nonce=1)
    with pytest.raises(TokenNonceMismatch):
        tsa_token_verify(token, digest=DIGEST, trust_roots=[root.der], nonce=2)


def test_verify_refuses_what_is_not_a_token(root: Ca, signer: TsaSigner) -> None:
    # given: garbage, a truncated token, and a CMS SignedData over plain data
    token = token_for(signer)
    plain_signed = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(DATA)
        .add_signer(signer.x509_certificate, signer.private_key, hashes.SHA256())
        .sign(DER, [])
    )
    # when / then
    for candidate in (b"", b"not a token", token[:-10], plain_signed):
        with pytest.raises(TokenMalformed) as refused:
            tsa_token_verify(candidate, digest=DIGEST, trust_roots=[root.der])
        assert refused.value.code == "timestamp_token_malformed"


@settings(max_examples=20, deadline=None)
@given(digest=st.binary(min_size=32, max_size=32), nonce=st.none() | st.integers(0, 2**64))
def test_any_digest_and_nonce_come_back_from_the_token(
    root: Ca, signer: TsaSigner, digest: bytes, nonce: int | None
) -> None:
    token = tsa_timestamp(digest=digest, now=NOW, serial=tsa_serial_new(), signer=signer, nonce=nonce)
    info = tsa_token_verify(token, digest=digest, trust_roots=[root.der], nonce=nonce)
    assert (info.digest, info.nonce) == (digest, nonce)


# --- what the TSA refuses to stamp


def test_timestamp_refuses_unsupported_hashes_and_bad_digests(signer: TsaSigner) -> None:
    with pytest.raises(TimestampHashUnsupported) as refused:
        token_for(signer, hash_algorithm="sha1", digest=hashlib.sha1(DATA).digest())  # noqa: S324  # refused
    assert refused.value.code == "timestamp_hash_unsupported"
    with pytest.raises(TimestampDigestInvalid):
        token_for(signer, digest=DIGEST[:31])
    with pytest.raises(TimestampDigestInvalid):
        token_for(signer, digest=DIGEST.hex())


@pytest.mark.parametrize("serial", [0, -1, 1 << 160, True])
def test_timestamp_refuses_serials_outside_160_bits(signer: TsaSigner, serial: int) -> None:
    with pytest.raises(TimestampSerialInvalid):
        token_for(signer, serial=serial)


def test_timestamp_refuses_a_negative_nonce(signer: TsaSigner) -> None:
    with pytest.raises(TimestampNonceInvalid):
        token_for(signer, nonce=-1)


def test_timestamp_refuses_when_the_certificate_is_not_valid_at_now(root: Ca) -> None:
    short = make_signer(root, days=10)
    with pytest.raises(TimestampSignerInvalid) as refused:
        token_for(short, now=NOW + timedelta(days=11))
    assert "renew the TSA certificate" in refused.value.message


def test_a_signer_key_must_belong_to_its_certificate(signer: TsaSigner) -> None:
    with pytest.raises(TimestampSignerInvalid):
        TsaSigner(private_key=ec.generate_private_key(ec.SECP256R1()), certificate=signer.certificate)


def test_serials_are_random_127_bit_numbers() -> None:
    serials = {tsa_serial_new() for _ in range(100)}
    assert len(serials) == 100
    assert all(serial.bit_length() == 127 for serial in serials)


# --- rejections to requests


def rejection_of(response: bytes) -> dict[str, object]:
    with pytest.raises(TimestampRejected) as refused:
        tsa_token_from_response(response)
    return refused.value.details


def test_response_rejects_an_unreadable_request(files: Path, signer: TsaSigner) -> None:
    # when
    response = tsa_response(b"\x30\x03\x02\x01\x01", now=NOW, serial=1, signer=signer)
    (files / "resp.tsr").write_bytes(response)
    # then
    details = rejection_of(response)
    assert details["status"] == "rejection"
    assert details["fail_info"] == ["bad_data_format"]
    text = openssl("ts", "-reply", "-in", "resp.tsr", "-text", cwd=files).stdout
    assert "Status: Rejected." in text
    assert "Failure info: the data submitted has the wrong format" in text


def test_response_rejects_an_unaccepted_hash_algorithm(files: Path, signer: TsaSigner) -> None:
    assert openssl("ts", "-query", "-data", "data.bin", "-sha1", "-out", "req.tsq", cwd=files).returncode == 0
    response = tsa_response((files / "req.tsq").read_bytes(), now=NOW, serial=1, signer=signer)
    assert rejection_of(response)["fail_info"] == ["bad_alg"]


def test_response_rejects_an_unknown_policy_and_accepts_a_listed_one(
    files: Path, root: Ca, signer: TsaSigner
) -> None:
    # given
    asked = f"{TENDERHALL_OID_ARC}.1.99"
    query = ("ts", "-query", "-data", "data.bin", "-sha256", "-cert", "-tspolicy", asked, "-out", "req.tsq")
    assert openssl(*query, cwd=files).returncode == 0
    request = (files / "req.tsq").read_bytes()
    # when
    refused = tsa_response(request, now=NOW, serial=1, signer=signer)
    granted = tsa_response(request, now=NOW, serial=2, signer=signer, accepted_policies=[asked])
    # then
    assert rejection_of(refused)["fail_info"] == ["unaccepted_policy"]
    info = tsa_token_verify(tsa_token_from_response(granted), digest=DIGEST, trust_roots=[root.der])
    assert info.policy == asked


def test_response_says_system_failure_when_the_tsa_cannot_sign(files: Path, root: Ca) -> None:
    assert (
        openssl("ts", "-query", "-data", "data.bin", "-sha256", "-out", "req.tsq", cwd=files).returncode == 0
    )
    short = make_signer(root, days=10)
    response = tsa_response(
        (files / "req.tsq").read_bytes(), now=NOW + timedelta(days=11), serial=1, signer=short
    )
    assert rejection_of(response)["fail_info"] == ["system_failure"]
