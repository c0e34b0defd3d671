"""Envelope checks against envelopes made by the ``openssl cms`` CLI, the independent peer.

The test PKI (made once per module with ``cryptography``): an RSA CA whose name needs RFC 4514 escaping, RSA
encryption certificates for a bidder, the tender's escrow and an outsider, and an EC certificate (which makes
``openssl cms -encrypt`` write a KeyAgreeRecipientInfo). Envelopes that openssl cannot make (id-signedData
content, authenticated attributes, broken parameters) are built with asn1crypto by ``build`` below, and the
good ones among them are opened by ``openssl cms -decrypt`` to show that ``build`` writes real CMS.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as symmetric_padding
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenderhall.bids import envelope
from tenderhall.bids.envelope import (
    ID_DATA,
    ID_SIGNED_DATA,
    EnvelopeInfo,
    EnvelopeRefused,
    Reason,
    Recipient,
    content_key_unwrap,
    envelope_decrypt,
    envelope_inspect,
    envelope_require_recipients,
    recipient_for,
)

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
BID = b"bid package: price 1,234,567.89 CNY, 180 days; " + bytes(range(256)) * 20
SMALL = b"sealed bid 42"
DECRYPTION_FAILED = (
    "The bid could not be decrypted with this content key: the key is wrong or the envelope was altered."
)


@dataclass(frozen=True)
class Party:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    cert_path: Path
    key_path: Path

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def rsa_key(self) -> rsa.RSAPrivateKey:
        assert isinstance(self.key, rsa.RSAPrivateKey)
        return self.key


@dataclass(frozen=True)
class Pki:
    directory: Path
    ca: Party
    bidder: Party
    escrow: Party
    outsider: Party
    ec_bidder: Party


def _party(directory: Path, name: str, key, *, issuer: x509.Name, issuer_key, ca: bool = False) -> Party:
    subject = issuer if ca else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    cert = builder.sign(issuer_key, hashes.SHA256())
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Party(key=key, cert=cert, cert_path=cert_path, key_path=key_path)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # Characters that RFC 4514 escapes, and Chinese, so that the issuer string is a real test.
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "天津公共资源交易中心, 测试+CA"),
            x509.NameAttribute(NameOID.COMMON_NAME, "#1 Test CA "),
        ]
    )
    ca = _party(directory, "ca", ca_key, issuer=ca_name, issuer_key=ca_key, ca=True)

    def issue(name: str, key) -> Party:
        return _party(directory, name, key, issuer=ca_name, issuer_key=ca_key)

    return Pki(
        directory=directory,
        ca=ca,
        bidder=issue("bidder", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        escrow=issue("escrow", rsa.generate_private_key(public_exponent=65537, key_size=3072)),
        outsider=issue("outsider", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ec_bidder=issue("ec-bidder", ec.generate_private_key(ec.SECP256R1())),
    )


def openssl(*args: str | Path, data: bytes = b"") -> bytes:
    result = subprocess.run(["openssl", *map(str, args)], input=data, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def seal(
    plaintext: bytes,
    *recipients: Party | tuple[Party, tuple[str, ...]],
    cipher: str = "-aes-256-gcm",
    extra: tuple[str, ...] = (),
) -> bytes:
    """``openssl cms -encrypt -binary ... -outform DER``; a recipient may carry its ``-keyopt`` options."""
    args: list[str | Path] = ["cms", "-encrypt", "-binary", cipher, "-outform", "DER", *extra]
    for recipient in recipients:
        party, options = recipient if isinstance(recipient, tuple) else (recipient, ())
        args += ["-recip", party.cert_path]
        for option in options:
            args += ["-keyopt", option]
    return openssl(*args, data=plaintext)


def openssl_decrypt(envelope: bytes, party: Party) -> bytes:
    return openssl(
        "cms", "-decrypt", "-binary", "-inform", "DER", "-recip", party.cert_path, "-inkey", party.key_path,
        data=envelope,
    )  # fmt: skip


def openssl_sign(signer: Party, content: bytes) -> bytes:
    """``openssl cms -sign -nodetach``: the DER ContentInfo of a SignedData holding ``content``."""
    return openssl(
        "cms", "-sign", "-binary", "-nodetach", "-signer", signer.cert_path, "-inkey", signer.key_path,
        "-outform", "DER", data=content,
    )  # fmt: skip


def refused(reason: Reason, call, *args, **kwargs) -> EnvelopeRefused:
    with pytest.raises(EnvelopeRefused) as caught:
        call(*args, **kwargs)
    assert caught.value.reason == reason, caught.value.as_dict()
    assert caught.value.details["reason"] == str(reason)
    return caught.value


# --- envelopes built with asn1crypto, for what openssl cannot make ------------------------------------------

AES = {
    "aes-128-cbc": ("aes128_cbc", 16),
    "aes-256-cbc": ("aes256_cbc", 32),
    "aes-128-gcm": ("aes128_gcm", 16),
    "aes-256-gcm": ("aes256_gcm", 32),
}


def _wrap(party: Party, transport: str, key: bytes) -> asn1_cms.RecipientInfo:
    if transport == "rsa-pkcs1v15":
        algorithm = asn1_cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_pkcs1v15"})
        wrap_padding: padding.AsymmetricPadding = padding.PKCS1v15()
    else:
        algorithm = asn1_cms.KeyEncryptionAlgorithm(
            {
                "algorithm": "rsaes_oaep",
                "parameters": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
                },
            }
        )
        wrap_padding = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    public_key = party.cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    issuer = asn1_x509.Name.load(party.cert.issuer.public_bytes())
    return asn1_cms.RecipientInfo(
        name="ktri",
        value={
            "version": "v0",
            "rid": asn1_cms.RecipientIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": issuer, "serial_number": party.cert.serial_number},
            ),
            "key_encryption_algorithm": algorithm,
            "encrypted_key": public_key.encrypt(key, wrap_padding),
        },
    )


def build(
    plaintext: bytes,
    recipients: list[tuple[Party, str]],
    *,
    cipher: str = "aes-256-gcm",
    content_type: str = "data",
    key: bytes | None = None,
    iv: bytes | None = None,
    auth_attrs: asn1_cms.CMSAttributes | None = None,
    tag_length: int = 16,
    pad: bool = True,
) -> asn1_cms.ContentInfo:
    """An EnvelopedData (CBC) or AuthEnvelopedData (GCM) ContentInfo, to be changed by a test and dumped."""
    algorithm_name, key_size = AES[cipher]
    key = key or os.urandom(key_size)
    infos = [_wrap(party, transport, key) for party, transport in recipients]
    if cipher.endswith("-cbc"):
        iv = iv or os.urandom(16)
        if pad:
            padder = symmetric_padding.PKCS7(128).padder()
            plaintext = padder.update(plaintext) + padder.finalize()
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        content = asn1_cms.EnvelopedData(
            {
                "version": "v0",
                "recipient_infos": infos,
                "encrypted_content_info": {
                    "content_type": content_type,
                    "content_encryption_algorithm": {"algorithm": algorithm_name, "parameters": iv},
                    "encrypted_content": encryptor.update(plaintext) + encryptor.finalize(),
                },
            }
        )
        return asn1_cms.ContentInfo({"content_type": "enveloped_data", "content": content})
    nonce = iv or os.urandom(12)
    gcm = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    if auth_attrs is not None:
        gcm.authenticate_additional_data(auth_attrs.dump())  # the SET OF encoding, RFC 5083 §2.2
    ciphertext = gcm.update(plaintext) + gcm.finalize()
    fields = {
        "version": "v0",
        "recipient_infos": infos,
        "auth_encrypted_content_info": {
            "content_type": content_type,
            "content_encryption_algorithm": {
                "algorithm": algorithm_name,
                # GCMParameters has CCMParameters' shape (RFC 5084), which asn1crypto knows.
                "parameters": asn1_algos.CcmParams({"aes_nonce": nonce, "aes_icvlen": tag_length}),
            },
            "encrypted_content": ciphertext,
        },
        "mac": gcm.tag[:tag_length],
    }
    if auth_attrs is not None:
        fields["auth_attrs"] = auth_attrs
    content = asn1_cms.AuthEnvelopedData(fields)
    return asn1_cms.ContentInfo({"content_type": "authenticated_enveloped_data", "content": content})


def dump(content_info: asn1_cms.ContentInfo) -> bytes:
    return bytes(content_info.dump(force=True))


def encrypted_content_info(content_info: asn1_cms.ContentInfo) -> asn1_cms.EncryptedContentInfo:
    content = content_info["content"]
    if isinstance(content, asn1_cms.AuthEnvelopedData):
        return content["auth_encrypted_content_info"]
    return content["encrypted_content_info"]


# --- openssl envelopes are listed exactly and decrypted -----------------------------------------------------

OAEP_SHA256 = ("rsa_padding_mode:oaep", "rsa_oaep_md:sha256")


@dataclass(frozen=True)
class Sealing:
    """An ``openssl cms -encrypt`` to the bidder and the escrow, and what envelope_inspect must report."""

    cipher: str
    content_encryption: str
    bidder: tuple[str, ...] = ()  # -keyopt options
    escrow: tuple[str, ...] = ()
    bidder_transport: str = "rsa-pkcs1v15"
    escrow_transport: str = "rsa-pkcs1v15"
    extra: tuple[str, ...] = ()


SEALINGS = {
    "aes128cbc": Sealing("-aes-128-cbc", "aes-128-cbc"),
    "aes192cbc": Sealing("-aes-192-cbc", "aes-192-cbc"),
    "aes256cbc": Sealing("-aes-256-cbc", "aes-256-cbc"),
    "aes128gcm": Sealing("-aes-128-gcm", "aes-128-gcm"),
    "aes256gcm": Sealing("-aes-256-gcm", "aes-256-gcm"),
    "gcm-oaep": Sealing(
        "-aes-256-gcm", "aes-256-gcm", bidder=("rsa_padding_mode:oaep",), escrow=OAEP_SHA256,
        bidder_transport="rsa-oaep-sha1", escrow_transport="rsa-oaep-sha256",
    ),
    "cbc-oaep-sha256": Sealing(
        "-aes-256-cbc", "aes-256-cbc", bidder=OAEP_SHA256, bidder_transport="rsa-oaep-sha256"
    ),
    "gcm-oaep-sha512-mgf1-sha1": Sealing(
        "-aes-256-gcm", "aes-256-gcm",
        bidder=("rsa_padding_mode:oaep", "rsa_oaep_md:sha512", "rsa_mgf1_md:sha1"),
        bidder_transport="rsa-oaep-sha512-mgf1-sha1",
    ),
    # -stream writes BER with indefinite lengths and the content in chunks.
    "gcm-stream": Sealing("-aes-256-gcm", "aes-256-gcm", extra=("-stream",)),
    "cbc-stream": Sealing("-aes-256-cbc", "aes-256-cbc", extra=("-stream",)),
}  # fmt: skip


@pytest.mark.parametrize("sealing", SEALINGS.values(), ids=SEALINGS.keys())
def test_openssl_envelope_lists_its_recipients_and_decrypts(pki, sealing):
    # given
    envelope = seal(
        BID,
        (pki.bidder, sealing.bidder),
        (pki.escrow, sealing.escrow),
        cipher=sealing.cipher,
        extra=sealing.extra,
    )
    # when
    info = envelope_inspect(envelope)
    # then
    padded_length = (len(BID) // 16 + 1) * 16
    kind = "auth_enveloped" if sealing.cipher.endswith("gcm") else "enveloped"
    assert (info.kind, info.content_encryption, info.content_type, info.encrypted_content_length) == (
        kind,
        sealing.content_encryption,
        ID_DATA,
        padded_length if kind == "enveloped" else len(BID),
    )
    issuer = pki.ca.cert.subject.rfc4514_string()
    assert [
        (r.issuer, r.serial, r.subject_key_identifier, r.key_transport, len(r.encrypted_key))
        for r in info.recipients
    ] == [
        (issuer, pki.bidder.cert.serial_number, None, sealing.bidder_transport, 256),
        (issuer, pki.escrow.cert.serial_number, None, sealing.escrow_transport, 384),
    ]
    assert envelope_require_recipients(
        info, certificates={"bidder": pki.bidder.der, "escrow": pki.escrow.der}
    ) == {
        "bidder": info.recipients[0],
        "escrow": info.recipients[1],
    }
    # when
    bidder_key = content_key_unwrap(recipient_for(info, pki.bidder.der), pki.bidder.rsa_key)
    escrow_key = content_key_unwrap(recipient_for(info, pki.escrow.der), pki.escrow.rsa_key)
    # then
    assert bidder_key == escrow_key
    assert len(bidder_key) == int(sealing.content_encryption[4:7]) // 8
    assert envelope_decrypt(envelope, content_key=bidder_key) == BID


def test_recipients_identified_by_subject_key_identifier(pki):
    # given: openssl -keyid names recipients by their SubjectKeyIdentifier, not issuer and serial
    envelope = seal(BID, pki.bidder, pki.escrow, extra=("-keyid",))
    # when
    info = envelope_inspect(envelope)
    # then
    assert [(r.issuer, r.serial, r.subject_key_identifier) for r in info.recipients] == [
        (None, None, x509.SubjectKeyIdentifier.from_public_key(pki.bidder.cert.public_key()).digest),
        (None, None, x509.SubjectKeyIdentifier.from_public_key(pki.escrow.cert.public_key()).digest),
    ]
    recipients = envelope_require_recipients(
        info, certificates={"bidder": pki.bidder.der, "escrow": pki.escrow.der}
    )
    key = content_key_unwrap(recipients["escrow"], pki.escrow.rsa_key)
    assert envelope_decrypt(envelope, content_key=key) == BID


@pytest.mark.parametrize(
    "options",
    [(), ("rsa_padding_mode:oaep",), OAEP_SHA256],
    ids=["pkcs1v15", "oaep-sha1", "oaep-sha256"],
)
def test_bidder_unwraps_the_content_key_with_openssl_pkeyutl(pki, options):
    # given: at the opening the platform hands the bidder its encryptedKey; the bidder unwraps it offline
    envelope = seal(BID, (pki.bidder, options), pki.escrow)
    recipient = recipient_for(envelope_inspect(envelope), pki.bidder.der)
    (pki.directory / "encrypted-key.bin").write_bytes(recipient.encrypted_key)
    pkeyopts = [arg for option in options for arg in ("-pkeyopt", option)]
    # when
    content_key = openssl(
        "pkeyutl",
        "-decrypt",
        "-inkey",
        pki.bidder.key_path,
        "-in",
        pki.directory / "encrypted-key.bin",
        *pkeyopts,
    )
    # then
    assert content_key == content_key_unwrap(recipient, pki.bidder.rsa_key)
    assert envelope_decrypt(envelope, content_key=content_key) == BID


def test_signed_bid_sealed_with_the_documented_openssl_pipeline(pki):
    # given: docs/sealed-bids.md, word for word apart from the file names
    (pki.directory / "bid.zip").write_bytes(BID)
    command = (
        "openssl cms -sign -binary -nodetach -in bid.zip -signer bidder.pem -inkey bidder.key -outform DER"
        " | openssl cms -encrypt -binary -aes-256-gcm -recip bidder.pem -recip escrow.pem -outform DER"
        " -out bid.env"
    )
    subprocess.run(command, shell=True, cwd=pki.directory, check=True, capture_output=True)  # noqa: S602
    envelope = (pki.directory / "bid.env").read_bytes()
    # when
    info = envelope_inspect(envelope)
    key = content_key_unwrap(envelope_require_recipients(
        info, certificates={"bidder": pki.bidder.der, "escrow": pki.escrow.der}
    )["bidder"], pki.bidder.rsa_key)  # fmt: skip
    plaintext = envelope_decrypt(envelope, content_key=key)
    # then: openssl writes id-data around the whole SignedData ContentInfo, which verifies and holds the bid
    assert (info.kind, info.content_encryption, info.content_type) == (
        "auth_enveloped",
        "aes-256-gcm",
        ID_DATA,
    )
    assert asn1_cms.ContentInfo.load(plaintext)["content_type"].native == "signed_data"
    verified = openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-CAfile", pki.ca.cert_path, "-purpose", "any",
        data=plaintext,
    )  # fmt: skip
    assert verified == BID


def _signed_data(pki) -> bytes:
    """The DER of a SignedData (not of its ContentInfo) made by openssl over the bid."""
    signed = openssl_sign(pki.bidder, BID)
    return bytes(asn1_cms.ContentInfo.load(signed)["content"].dump())


def _documented_commands(block: int) -> list[str]:
    """The commands of the ``block``-th ``sh`` code block in docs/sealed-bids.md, continuations joined."""
    text = (Path(__file__).resolve().parents[3] / "docs" / "sealed-bids.md").read_text()
    code = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)[block]
    lines = code.replace("\\\n", " ").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_documented_sealing_commands_make_accepted_envelopes(pki, tmp_path):
    # given: the files the commands in docs/sealed-bids.md name
    for name, party in [("bidder-sign", pki.bidder), ("bidder-enc", pki.bidder), ("escrow", pki.escrow)]:
        (tmp_path / f"{name}.pem").write_bytes(party.cert_path.read_bytes())
        (tmp_path / f"{name}.key").write_bytes(party.key_path.read_bytes())
    (tmp_path / "bid.zip").write_bytes(BID)
    signed = openssl_sign(pki.bidder, BID)
    (tmp_path / "signed.der").write_bytes(signed)
    (tmp_path / "bid.pem").write_bytes(seal(signed, pki.bidder, pki.escrow, extra=("-outform", "PEM")))
    commands = _documented_commands(0)
    assert len(commands) == 5
    for command in commands:
        if "-print" not in command:  # the last one prints the envelope the one before made
            (tmp_path / "bid.env").unlink(missing_ok=True)
        # when
        result = subprocess.run(command, shell=True, cwd=tmp_path, check=True, capture_output=True)  # noqa: S602
        # then
        if "-print" in command:
            assert b"d.authEnvelopedData" in result.stdout
            continue
        envelope = (tmp_path / "bid.env").read_bytes()
        info = envelope_inspect(envelope)
        recipients = envelope_require_recipients(
            info, certificates={"bidder": pki.bidder.der, "escrow": pki.escrow.der}
        )
        key = content_key_unwrap(recipients["escrow"], pki.escrow.rsa_key)
        assert (info.content_encryption, envelope_decrypt(envelope, content_key=key)) == (
            "aes-256-gcm",
            signed,
        )


def test_documented_unwrap_commands(pki, tmp_path):
    # given: an envelope per documented command, PKCS#1 v1.5 then OAEP-SHA-256 for the bidder
    commands = _documented_commands(1)
    assert len(commands) == 2
    for command, options in zip(commands, [(), OAEP_SHA256], strict=True):
        envelope = seal(BID, (pki.bidder, options), pki.escrow)
        recipient = recipient_for(envelope_inspect(envelope), pki.bidder.der)
        (tmp_path / "encrypted-key.bin").write_bytes(recipient.encrypted_key)
        (tmp_path / "bidder-enc.key").write_bytes(pki.bidder.key_path.read_bytes())
        # when
        subprocess.run(command, shell=True, cwd=tmp_path, check=True, capture_output=True)  # noqa: S602
        # then
        content_key = (tmp_path / "content-key.bin").read_bytes()
        assert envelope_decrypt(envelope, content_key=content_key) == BID


def test_signed_data_content_type(pki):
    # given: an envelope whose encrypted content is typed id-signedData (openssl cannot write one)
    signed_data = _signed_data(pki)
    envelope = dump(
        build(
            signed_data, [(pki.bidder, "rsa-oaep-sha256"), (pki.escrow, "rsa-pkcs1v15")],
            cipher="aes-256-cbc", content_type="signed_data",
        )
    )  # fmt: skip
    # when
    info = envelope_inspect(envelope)
    key = content_key_unwrap(info.recipients[0], pki.bidder.rsa_key)
    # then
    assert (info.content_type, [r.key_transport for r in info.recipients]) == (
        ID_SIGNED_DATA,
        ["rsa-oaep-sha256", "rsa-pkcs1v15"],
    )
    assert envelope_decrypt(envelope, content_key=key) == signed_data
    assert openssl_decrypt(envelope, pki.escrow) == signed_data  # the independent reading of the same bytes


def test_authenticated_attributes_are_authenticated(pki):
    # given: RFC 5083 requires authAttrs when the content is not id-data; they are the GCM associated data.
    # OpenSSL 3.0 cannot read them (openssl/openssl#26101: wrong implicit tags, fixed in later releases), so
    # the associated data here comes from asn1crypto's own SET OF encoding in ``build``.
    signed_data = _signed_data(pki)
    attrs = asn1_cms.CMSAttributes(
        [asn1_cms.CMSAttribute({"type": "content_type", "values": ["signed_data"]})]
    )
    key = os.urandom(32)
    content_info = build(
        signed_data, [(pki.bidder, "rsa-pkcs1v15")], content_type="signed_data", auth_attrs=attrs, key=key
    )
    # when
    info = envelope_inspect(dump(content_info))
    # then
    assert (info.kind, info.content_type) == ("auth_enveloped", ID_SIGNED_DATA)
    assert envelope_decrypt(dump(content_info), content_key=key) == signed_data
    # when the authenticated attributes are changed, the tag no longer matches
    content_info["content"]["auth_attrs"][0]["values"][0] = asn1_cms.ContentType("data")
    refused(Reason.DECRYPTION_FAILED, envelope_decrypt, dump(content_info), content_key=key)


def test_content_in_nested_indefinite_chunks(pki):
    # given: the BER that BouncyCastle's stream generators write (bcgit/bc-java#2223): the encrypted content
    # as a constructed OCTET STRING inside another, every length indefinite
    key = os.urandom(32)
    content_info = build(
        BID, [(pki.bidder, "rsa-pkcs1v15"), (pki.escrow, "rsa-pkcs1v15")], cipher="aes-256-cbc", key=key
    )
    enveloped = content_info["content"]
    eci = enveloped["encrypted_content_info"]
    ciphertext = eci["encrypted_content"].native
    chunks = b"".join(
        asn1_core.OctetString(ciphertext[i : i + 1000]).dump() for i in range(0, len(ciphertext), 1000)
    )
    eoc = b"\x00\x00"
    envelope = (
        b"\x30\x80" + asn1_cms.ContentType("enveloped_data").dump() + b"\xa0\x80"
        + b"\x30\x80" + enveloped["version"].dump() + enveloped["recipient_infos"].dump()
        + b"\x30\x80" + eci["content_type"].dump() + eci["content_encryption_algorithm"].dump()
        + b"\xa0\x80" + b"\x24\x80" + chunks + eoc + eoc
        + eoc + eoc + eoc + eoc
    )  # fmt: skip
    # when
    info = envelope_inspect(envelope)
    # then
    assert (info.encrypted_content_length, len(info.recipients)) == (len(ciphertext), 2)
    assert envelope_decrypt(envelope, content_key=key) == BID
    assert openssl_decrypt(envelope, pki.escrow) == BID
    for cut in range(1, len(envelope), 97):
        refused(Reason.TRUNCATED, envelope_inspect, envelope[:cut])


def test_hand_built_envelopes_are_real_cms(pki):
    # given: the builder used by the refusal tests below, checked once against openssl
    for cipher in ("aes-128-cbc", "aes-256-cbc", "aes-128-gcm", "aes-256-gcm"):
        envelope = dump(build(SMALL, [(pki.bidder, "rsa-pkcs1v15")], cipher=cipher))
        # when / then
        assert openssl_decrypt(envelope, pki.bidder) == SMALL
        key = content_key_unwrap(envelope_inspect(envelope).recipients[0], pki.bidder.rsa_key)
        assert envelope_decrypt(envelope, content_key=key) == SMALL


def test_a_shorter_gcm_tag_is_accepted_when_declared(pki):
    # given
    key = os.urandom(32)
    envelope = dump(build(BID, [(pki.bidder, "rsa-pkcs1v15")], key=key, tag_length=12))
    # when / then
    assert envelope_decrypt(envelope, content_key=key) == BID


def test_issuer_is_written_as_cryptography_writes_rfc4514(pki):
    # given
    info = envelope_inspect(seal(SMALL, pki.bidder))
    # then
    assert info.recipients[0].issuer == "CN=\\#1 Test CA\\ ,O=天津公共资源交易中心\\, 测试\\+CA,C=CN"
    assert info.recipients[0].issuer == pki.bidder.cert.issuer.rfc4514_string()


def test_envelope_info_is_a_plain_value(pki):
    # given
    key = os.urandom(32)
    envelope = dump(build(SMALL, [(pki.bidder, "rsa-pkcs1v15")], key=key))
    # when
    info = envelope_inspect(envelope)
    # then
    assert info == EnvelopeInfo(
        kind="auth_enveloped",
        content_encryption="aes-256-gcm",
        recipients=(
            Recipient(
                issuer=pki.ca.cert.subject.rfc4514_string(),
                serial=pki.bidder.cert.serial_number,
                subject_key_identifier=None,
                key_transport="rsa-pkcs1v15",
                encrypted_key=info.recipients[0].encrypted_key,
                issuer_der=pki.ca.cert.subject.public_bytes(),
            ),
        ),
        content_type=ID_DATA,
        encrypted_content_length=len(SMALL),
    )
    assert "encrypted_key" not in repr(info)


# --- refusals: not an envelope ------------------------------------------------------------------------------


def test_random_bytes_are_not_cms():
    # given
    data = b"\x04" + os.urandom(500)
    # when
    error = refused(Reason.NOT_CMS, envelope_inspect, data)
    # then
    assert error.as_dict() == {
        "code": "envelope_refused",
        "message": (
            "The file is not a CMS envelope "
            "(expected DER, as written by 'openssl cms -encrypt -outform DER')."
        ),
        "details": {"reason": "not_cms"},
    }
    assert error.status == 422


def test_empty_file_is_not_cms():
    refused(Reason.NOT_CMS, envelope_inspect, b"")


def test_pem_is_refused_with_the_conversion_command(pki):
    # given
    pem = seal(SMALL, pki.bidder, extra=("-outform", "PEM"))
    assert pem.startswith(b"-----BEGIN CMS-----")
    # when
    error = refused(Reason.NOT_CMS, envelope_inspect, pem)
    # then
    assert error.details == {"reason": "not_cms", "encoding": "pem"}
    assert "openssl cms -cmsout -inform PEM -outform DER" in error.message


def test_signed_data_is_not_an_envelope(pki):
    # given
    signed = openssl_sign(pki.bidder, BID)
    # when
    error = refused(Reason.NOT_ENVELOPED, envelope_inspect, signed)
    # then
    assert error.details == {"reason": "not_enveloped", "content_type": ID_SIGNED_DATA}
    assert "signed_data (1.2.840.113549.1.7.2)" in error.message


def test_data_is_not_an_envelope():
    # given
    data = openssl("cms", "-data_create", "-binary", "-outform", "DER", data=BID)
    # when
    error = refused(Reason.NOT_ENVELOPED, envelope_inspect, data)
    # then
    assert error.details == {"reason": "not_enveloped", "content_type": ID_DATA}


def test_an_x509_certificate_is_not_cms(pki):
    # a SEQUENCE that frames correctly but is no ContentInfo
    refused(Reason.NOT_CMS, envelope_inspect, pki.bidder.der)


@pytest.mark.parametrize("extra", [(), ("-stream",)], ids=["der", "ber-indefinite"])
def test_every_prefix_is_truncated(pki, extra):
    # given
    envelope = seal(SMALL, pki.bidder, extra=extra)
    key = content_key_unwrap(envelope_inspect(envelope).recipients[0], pki.bidder.rsa_key)
    # when / then
    for cut in range(1, len(envelope)):
        error = refused(Reason.TRUNCATED, envelope_inspect, envelope[:cut])
        assert error.details == {"reason": "truncated", "size": cut}
        refused(Reason.TRUNCATED, envelope_decrypt, envelope[:cut], content_key=key)


@pytest.mark.parametrize("extra", [(), ("-stream",)], ids=["der", "ber-indefinite"])
def test_trailing_data_is_refused(pki, extra):
    # given
    envelope = seal(SMALL, pki.bidder, extra=extra) + b"\x00\x00junk"
    # when
    error = refused(Reason.TRAILING_DATA, envelope_inspect, envelope)
    # then
    assert error.details == {"reason": "trailing_data", "trailing_bytes": 6}


def test_too_large_is_refused_before_parsing(pki):
    # given
    envelope = seal(SMALL, pki.bidder)
    # when
    error = refused(Reason.TOO_LARGE, envelope_inspect, envelope, max_size=len(envelope) - 1)
    # then
    assert error.details == {"reason": "too_large", "size": len(envelope), "max_size": len(envelope) - 1}
    assert envelope_inspect(envelope, max_size=len(envelope)).content_encryption == "aes-256-gcm"
    refused(Reason.TOO_LARGE, envelope_inspect, b"\xff" * 11, max_size=10)


# --- refusals: algorithms and parameters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cipher", "oid"),
    [("-des3", "1.2.840.113549.3.7"), ("-aes-128-ofb", "2.16.840.1.101.3.4.1.3")],
    ids=["des3", "aes128ofb"],
)
def test_unsupported_content_encryption_from_openssl(pki, cipher, oid):
    # given
    envelope = seal(SMALL, pki.bidder, cipher=cipher)
    # when
    error = refused(Reason.UNSUPPORTED_CONTENT_ENCRYPTION, envelope_inspect, envelope)
    # then
    assert error.details == {
        "reason": "unsupported_content_encryption",
        "algorithm": oid,
        "structure": "EnvelopedData",
    }
    assert oid in error.message


def test_gcm_in_enveloped_data_and_cbc_in_auth_enveloped_data_are_refused(pki):
    # given: GCM without the AuthEnvelopedData tag field would be unauthenticated
    gcm_in_enveloped = build(SMALL, [(pki.bidder, "rsa-pkcs1v15")], cipher="aes-256-cbc")
    encrypted_content_info(gcm_in_enveloped)["content_encryption_algorithm"] = {
        "algorithm": "aes256_gcm",
        "parameters": asn1_algos.CcmParams({"aes_nonce": b"n" * 12, "aes_icvlen": 16}),
    }
    cbc_in_auth = build(SMALL, [(pki.bidder, "rsa-pkcs1v15")], cipher="aes-256-gcm")
    encrypted_content_info(cbc_in_auth)["content_encryption_algorithm"] = {
        "algorithm": "aes256_cbc",
        "parameters": b"i" * 16,
    }
    # when / then
    error = refused(Reason.UNSUPPORTED_CONTENT_ENCRYPTION, envelope_inspect, dump(gcm_in_enveloped))
    assert error.details["algorithm"] == "2.16.840.1.101.3.4.1.46"
    error = refused(Reason.UNSUPPORTED_CONTENT_ENCRYPTION, envelope_inspect, dump(cbc_in_auth))
    assert error.details == {
        "reason": "unsupported_content_encryption",
        "algorithm": "2.16.840.1.101.3.4.1.42",
        "structure": "AuthEnvelopedData",
    }


def _with_parameters(pki, cipher: str, parameters) -> bytes:
    content_info = build(SMALL, [(pki.bidder, "rsa-pkcs1v15")], cipher=cipher)
    encrypted_content_info(content_info)["content_encryption_algorithm"] = {
        "algorithm": AES[cipher][0],
        "parameters": parameters,
    }
    return dump(content_info)


@pytest.mark.parametrize(
    ("cipher", "parameters", "why"),
    [
        ("aes-256-cbc", None, "an IV of 16 bytes is required"),
        ("aes-256-cbc", b"i" * 8, "an IV of 16 bytes is required"),
        ("aes-256-gcm", None, "the GCM nonce and tag length are missing"),
        ("aes-256-gcm", {"aes_nonce": b"n" * 16, "aes_icvlen": 16}, "the GCM nonce must be 12 bytes, not 16"),
        (
            "aes-256-gcm",
            {"aes_nonce": b"n" * 12, "aes_icvlen": 8},
            "the GCM tag length must be 12 to 16 bytes, not 8",
        ),
        (
            "aes-256-gcm",
            {"aes_nonce": b"n" * 12, "aes_icvlen": 14},
            "the tag is 16 bytes but 14 are declared",
        ),
        # aes_icvlen absent: its default, 12, does not match openssl's 16-byte tag
        ("aes-256-gcm", {"aes_nonce": b"n" * 12}, "the tag is 16 bytes but 12 are declared"),
    ],
    ids=[
        "cbc-no-iv",
        "cbc-short-iv",
        "gcm-none",
        "gcm-long-nonce",
        "gcm-short-tag",
        "gcm-tag-mismatch",
        "gcm-default",
    ],
)
def test_invalid_parameters(pki, cipher, parameters, why):
    # given
    if isinstance(
        parameters, dict
    ):  # GCMParameters, written field by field so that aes_icvlen can be left out
        fields = asn1_core.OctetString(parameters["aes_nonce"]).dump()
        if "aes_icvlen" in parameters:
            fields += asn1_core.Integer(parameters["aes_icvlen"]).dump()
        parameters = asn1_core.Sequence.load(b"\x30" + bytes([len(fields)]) + fields)
    envelope = _with_parameters(pki, cipher, parameters)
    # when
    error = refused(Reason.INVALID_PARAMETERS, envelope_inspect, envelope)
    # then
    assert error.message == f"The {cipher} parameters are invalid: {why}."
    assert error.details == {"reason": "invalid_parameters", "algorithm": cipher}


@pytest.mark.parametrize("content_type", ["enveloped_data", "digested_data", "1.2.3.4"])
def test_unsupported_inner_content_type(pki, content_type):
    # given
    envelope = dump(build(SMALL, [(pki.bidder, "rsa-pkcs1v15")], content_type=content_type))
    # when
    error = refused(Reason.UNSUPPORTED_CONTENT_TYPE, envelope_inspect, envelope)
    # then
    assert error.details["content_type"] == asn1_cms.ContentType(content_type).dotted


def test_detached_content_is_refused(pki):
    # given
    content_info = build(SMALL, [(pki.bidder, "rsa-pkcs1v15")])
    del encrypted_content_info(content_info)["encrypted_content"]
    # when / then
    refused(Reason.CONTENT_MISSING, envelope_inspect, dump(content_info))


def test_cbc_content_not_in_whole_blocks_is_malformed(pki):
    # given
    content_info = build(SMALL, [(pki.bidder, "rsa-pkcs1v15")], cipher="aes-256-cbc")
    encrypted_content_info(content_info)["encrypted_content"] = b"x" * 20
    # when
    error = refused(Reason.MALFORMED, envelope_inspect, dump(content_info))
    # then
    assert error.details == {"reason": "malformed", "encrypted_content_length": 20}


# --- refusals: recipients -----------------------------------------------------------------------------------


def test_no_recipients(pki):
    # given
    content_info = build(SMALL, [])
    # when / then
    refused(Reason.NO_RECIPIENTS, envelope_inspect, dump(content_info))


def test_ec_recipient_is_key_agreement_and_refused(pki):
    # given: openssl makes a KeyAgreeRecipientInfo (ECDH) for an EC certificate, here next to an RSA one
    envelope = seal(SMALL, pki.bidder, pki.ec_bidder)
    # when
    error = refused(Reason.UNSUPPORTED_RECIPIENT_KIND, envelope_inspect, envelope)
    # then
    assert error.details == {"reason": "unsupported_recipient_kind", "kind": "kari", "index": 1}
    assert error.message.startswith("Recipient 2 is reached through key agreement (an EC or DH certificate)")


@pytest.mark.parametrize(
    ("extra", "kind"),
    [
        (("-secretkey", "000102030405060708090a0b0c0d0e0f", "-secretkeyid", "01"), "kekri"),
        (("-pwri_password", "secret"), "pwri"),
    ],
    ids=["kekri", "pwri"],
)
def test_symmetric_recipients_are_refused(extra, kind):
    # given
    envelope = openssl("cms", "-encrypt", "-binary", "-aes-256-cbc", "-outform", "DER", *extra, data=SMALL)
    # when
    error = refused(Reason.UNSUPPORTED_RECIPIENT_KIND, envelope_inspect, envelope)
    # then
    assert error.details == {"reason": "unsupported_recipient_kind", "kind": kind, "index": 0}


def test_oaep_label_is_refused(pki):
    # given
    envelope = seal(SMALL, (pki.bidder, ("rsa_padding_mode:oaep", "rsa_oaep_label:0102")))
    # when
    error = refused(Reason.UNSUPPORTED_KEY_TRANSPORT, envelope_inspect, envelope)
    # then
    assert error.message == (
        "Recipient 1: OAEP labels are not accepted; use RSA PKCS#1 v1.5 or RSA-OAEP with SHA-1 or SHA-2."
    )


@pytest.mark.parametrize(
    ("algorithm", "detail"),
    [
        (
            {"algorithm": "rsaes_oaep", "parameters": {"hash_algorithm": {"algorithm": "md5"}}},
            "1.2.840.113549.2.5",
        ),
        (
            {
                "algorithm": "rsaes_oaep",
                "parameters": {
                    "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha3_256"}}
                },
            },
            "2.16.840.1.101.3.4.2.8",
        ),
        ({"algorithm": "aes256_wrap"}, "2.16.840.1.101.3.4.1.45"),
    ],
    ids=["oaep-md5", "mgf1-sha3", "aes-wrap"],
)
def test_unsupported_key_transport(pki, algorithm, detail):
    # given
    content_info = build(SMALL, [(pki.bidder, "rsa-pkcs1v15")])
    content_info["content"]["recipient_infos"][0].chosen["key_encryption_algorithm"] = algorithm
    # when
    error = refused(Reason.UNSUPPORTED_KEY_TRANSPORT, envelope_inspect, dump(content_info))
    # then
    assert error.details == {"reason": "unsupported_key_transport", "index": 0, "algorithm": detail}


def test_oaep_without_parameters_means_sha1(pki):
    # given: RFC 4055 defaults
    key = os.urandom(32)
    content_info = build(SMALL, [(pki.bidder, "rsa-pkcs1v15")], key=key)
    public_key = pki.bidder.cert.public_key()
    oaep_sha1 = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
    recipient_info = content_info["content"]["recipient_infos"][0].chosen
    recipient_info["key_encryption_algorithm"] = {"algorithm": "rsaes_oaep"}
    recipient_info["encrypted_key"] = public_key.encrypt(key, oaep_sha1)
    # when
    info = envelope_inspect(dump(content_info))
    # then
    assert info.recipients[0].key_transport == "rsa-oaep-sha1"
    assert content_key_unwrap(info.recipients[0], pki.bidder.rsa_key) == key


def test_missing_required_recipient(pki):
    # given: sealed to the bidder only, not to the tender's escrow certificate
    info = envelope_inspect(seal(SMALL, pki.bidder))
    # when
    error = refused(
        Reason.RECIPIENT_MISSING,
        envelope_require_recipients,
        info,
        certificates={"bidder": pki.bidder.der, "escrow": pki.escrow.der},
    )
    # then
    assert error.details == {"reason": "recipient_missing", "missing": ["escrow"]}
    assert error.message == (
        "The envelope is not encrypted to the required certificates: escrow. "
        "Seal the bid again with every required certificate as a recipient."
    )
    error = refused(Reason.RECIPIENT_MISSING, recipient_for, info, pki.outsider.der)
    assert error.details == {"reason": "recipient_missing", "missing": ["certificate"]}


def test_recipient_with_the_same_issuer_and_serial_but_another_key_size(pki):
    # given: the escrow certificate (RSA-3072) named as recipient, with a key wrapped for a 2048-bit key
    content_info = build(SMALL, [(pki.bidder, "rsa-pkcs1v15")])
    rid = content_info["content"]["recipient_infos"][0].chosen["rid"].chosen
    rid["serial_number"] = pki.escrow.cert.serial_number
    info = envelope_inspect(dump(content_info))
    # when
    error = refused(Reason.RECIPIENT_KEY_MISMATCH, recipient_for, info, pki.escrow.der)
    # then
    assert error.details["serial"] == pki.escrow.cert.serial_number


def test_certificate_that_is_not_der_is_a_programming_error(pki):
    info = envelope_inspect(seal(SMALL, pki.bidder))
    with pytest.raises(ValueError, match=r"not a DER X\.509 certificate"):
        recipient_for(info, b"not a certificate")


# --- decryption failures ------------------------------------------------------------------------------------


def test_wrong_content_key_gcm(pki):
    # given
    envelope = seal(BID, pki.bidder)
    # when
    error = refused(Reason.DECRYPTION_FAILED, envelope_decrypt, envelope, content_key=b"k" * 32)
    # then
    assert error.message == DECRYPTION_FAILED
    assert error.details == {"reason": "decryption_failed"}


def test_wrong_content_key_cbc(pki):
    # given: fixed key, IV and wrong key, so that the wrong key's padding check fails every run
    envelope = dump(
        build(BID, [(pki.bidder, "rsa-pkcs1v15")], cipher="aes-256-cbc", key=b"r" * 32, iv=b"i" * 16)
    )
    # when
    error = refused(Reason.DECRYPTION_FAILED, envelope_decrypt, envelope, content_key=b"w" * 32)
    # then
    assert error.message == DECRYPTION_FAILED


def test_cbc_with_bad_padding(pki):
    # given: the right key, but the last block does not end in valid PKCS#7 padding
    key = os.urandom(32)
    envelope = dump(
        build(b"x" * 31 + b"\x00", [(pki.bidder, "rsa-pkcs1v15")], cipher="aes-256-cbc", key=key, pad=False)
    )
    # when
    error = refused(Reason.DECRYPTION_FAILED, envelope_decrypt, envelope, content_key=key)
    # then: the same words as a wrong key, so that nothing tells padding from key
    assert error.message == DECRYPTION_FAILED


def test_content_key_of_the_wrong_length(pki):
    # given
    envelope = seal(SMALL, pki.bidder, cipher="-aes-128-cbc")
    # when
    error = refused(Reason.CONTENT_KEY_INVALID, envelope_decrypt, envelope, content_key=b"k" * 32)
    # then
    assert error.details == {"reason": "content_key_invalid", "expected_length": 16, "length": 32}


def _flip(data: bytes, position: int, mask: int = 0x01) -> bytes:
    return data[:position] + bytes([data[position] ^ mask]) + data[position + 1 :]


def test_tampered_gcm_tag_and_ciphertext(pki):
    # given
    envelope = seal(BID, pki.bidder)
    info = envelope_inspect(envelope)
    key = content_key_unwrap(info.recipients[0], pki.bidder.rsa_key)
    content = asn1_cms.ContentInfo.load(envelope)["content"]
    tag_at = envelope.rindex(content["mac"].native)
    ciphertext = content["auth_encrypted_content_info"]["encrypted_content"].native
    ciphertext_at = envelope.index(ciphertext)
    # when / then: the first and last bytes of the tag and of the ciphertext
    for position in (tag_at, tag_at + 15, ciphertext_at, ciphertext_at + len(ciphertext) - 1):
        tampered = _flip(envelope, position)
        assert envelope_inspect(tampered) == info
        error = refused(Reason.DECRYPTION_FAILED, envelope_decrypt, tampered, content_key=key)
        assert error.message == DECRYPTION_FAILED


def test_unwrap_with_the_wrong_private_key_oaep(pki):
    # given
    info = envelope_inspect(seal(SMALL, (pki.bidder, OAEP_SHA256)))
    # when
    error = refused(Reason.KEY_UNWRAP_FAILED, content_key_unwrap, info.recipients[0], pki.outsider.rsa_key)
    # then
    assert error.message == "The content key could not be unwrapped with this private key."


# --- any input: refused or, if accepted, never decrypted to anything but the bid ----------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_are_refused(data):
    with pytest.raises(EnvelopeRefused):
        envelope_inspect(data)


@pytest.fixture(scope="module")
def small_envelopes(pki) -> dict[str, tuple[bytes, bytes]]:
    """Small envelopes (DER and BER-indefinite, GCM and CBC), each with its content key."""
    envelopes = {}
    for name, cipher, extra in [
        ("gcm", "-aes-256-gcm", ()),
        ("gcm-stream", "-aes-256-gcm", ("-stream",)),
        ("cbc", "-aes-256-cbc", ()),
    ]:
        envelope = seal(SMALL, pki.bidder, cipher=cipher, extra=extra)
        key = content_key_unwrap(envelope_inspect(envelope).recipients[0], pki.bidder.rsa_key)
        envelopes[name] = (envelope, key)
    return envelopes


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["gcm", "gcm-stream", "cbc"]),
    position=st.integers(min_value=0),
    mask=st.integers(min_value=1, max_value=255),
    cut=st.integers(min_value=0, max_value=16),
)
def test_any_mutation_is_refused_or_harmless(small_envelopes, name, position, mask, cut):
    # given: one byte changed, then possibly the end cut off
    envelope, key = small_envelopes[name]
    mutated = _flip(envelope, position % len(envelope), mask)
    mutated = mutated[: len(mutated) - cut]
    # when
    try:
        envelope_inspect(mutated)
        plaintext = envelope_decrypt(mutated, content_key=key)
    except EnvelopeRefused:
        return
    # then: what is accepted is either unchanged for the content (a recipient field, a content-type OID) or,
    # with CBC only, garbage that the bidder's signature will reveal; GCM never yields anything but the bid
    if name.startswith("gcm"):
        assert plaintext == SMALL


def test_an_issuer_name_matches_byte_for_byte_or_as_rfc_5280_compares_names():
    # given: a certificate's issuer, and the same name with case and spaces changed (RFC 5280 §7.1)
    name = asn1_x509.Name.build({"country_name": "CN", "common_name": "Demo  Issuing CA"})
    folded = asn1_x509.Name.build({"country_name": "CN", "common_name": "demo issuing ca"})
    other = asn1_x509.Name.build({"country_name": "CN", "common_name": "Another CA"})
    # then
    assert envelope._same_name(name.dump(), name)
    assert envelope._same_name(folded.dump(), name)
    assert not envelope._same_name(other.dump(), name)
