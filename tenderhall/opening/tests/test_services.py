"""The escrow key made at publication: shares sealed to the named officials, the certificate published and
required as a recipient of every bid, and any k officials' shares rebuild the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings

from tenderhall.accounts.choices import Role
from tenderhall.accounts.demo_ca import demo_ca_load_or_create
from tenderhall.accounts.services import certificate_accept
from tenderhall.accounts.tests.factories import make_user
from tenderhall.bids.envelope import EnvelopeRefused
from tenderhall.bids.tests.test_services import Scene, make_bidder, seal, submit
from tenderhall.core.errors import InvalidInput
from tenderhall.ledger.models import Leaf
from tenderhall.opening import services
from tenderhall.opening.escrow import escrow_key_rebuild, share_unseal
from tenderhall.opening.models import EscrowKey, SealedShare
from tenderhall.procedures import services as procedure_services
from tenderhall.procedures.scheduler import procedures_tick
from tenderhall.procedures.tests.factories import (
    PUBLISH_AT,
    attach_signed_document,
    make_draft_tender,
    make_parties,
)

pytestmark = pytest.mark.django_db


def make_official(index: int) -> tuple[Any, Any, bytes]:
    user = make_user(role=Role.OPENING_OFFICIAL)
    ca = demo_ca_load_or_create(Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=PUBLISH_AT)
    key_pem, cert_pem = ca.issue_key_and_certificate(
        common_name=f"开标人{index}", serial_number=user.id_number, usage="encryption", now=PUBLISH_AT
    )
    certificate_accept(actor=user, user=user, data=cert_pem, usage="encryption", now=PUBLISH_AT)
    return user, serialization.load_pem_private_key(key_pem, password=None), cert_pem


def publish_with_officials(count: int, k: int):
    parties = make_parties()
    tender = make_draft_tender(parties)
    attach_signed_document(parties, tender)
    officials = [make_official(i) for i in range(count)]
    services.escrow_plan_set(
        actor=parties.agency_user,
        tender_id=tender.pk,
        official_ids=[o[0].pk for o in officials],
        k=k,
        now=PUBLISH_AT,
    )
    procedure_services.tender_publish(actor=parties.agency_user, tender_id=tender.pk, now=PUBLISH_AT)
    return parties, tender, officials


def test_publication_makes_the_escrow_key_for_the_named_officials_and_k_of_them_rebuild_it():
    # given / when: three officials, two of whom suffice
    _parties, tender, officials = publish_with_officials(3, 2)
    # then
    escrow = EscrowKey.objects.get(tender=tender)
    assert (escrow.k, escrow.n, SealedShare.objects.filter(escrow=escrow).count()) == (2, 3, 3)
    assert Leaf.objects.filter(event_type="opening:escrow:published").count() == 1
    shares = {s.official_id: s for s in escrow.shares.all()}
    opened = [
        share_unseal(bytes(shares[user.pk].envelope), certificate=cert, private_key=key)
        for user, key, cert in officials[1:]
    ]
    rebuilt = escrow_key_rebuild(shares=opened, certificate_pem=escrow.certificate_pem.encode())
    assert rebuilt.key_size == 3072
    from tenderhall.ledger.verify import verify_local

    assert (verify_local().problems, verify_local().unknown_types) == ([], {})


def test_bids_of_a_tender_with_an_escrow_key_must_be_readable_with_it(tmp_path):
    parties, tender, _officials = publish_with_officials(2, 2)
    procedures_tick(now=PUBLISH_AT)
    tender.refresh_from_db()
    bidder = make_bidder(parties.operator, tmp_path)
    scene = Scene(tender, tender.lots.get(), bidder, PUBLISH_AT + timedelta(days=2))
    with pytest.raises(EnvelopeRefused) as refused:
        submit(scene, seal(bidder, tmp_path))  # sealed to the bidder only
    assert refused.value.details["reason"] == "recipient_missing"
    escrow_pem = tmp_path / "escrow.pem"
    escrow_pem.write_text(EscrowKey.objects.get(tender=tender).certificate_pem)
    bid = submit(scene, seal(bidder, tmp_path, recipients=[bidder.encryption_cert, escrow_pem]))
    assert bid.status == "submitted"


def test_the_plan_needs_opening_officials_with_encryption_certificates_and_a_sane_threshold():
    parties = make_parties()
    tender = make_draft_tender(parties)
    official, _key, _cert = make_official(0)
    with pytest.raises(InvalidInput):
        services.escrow_plan_set(
            actor=parties.agency_user, tender_id=tender.pk, official_ids=[official.pk], k=2, now=PUBLISH_AT
        )
    with pytest.raises(services.OfficialNotReady):
        services.escrow_plan_set(
            actor=parties.agency_user,
            tender_id=tender.pk,
            official_ids=[official.pk, make_user().pk],
            k=2,
            now=PUBLISH_AT,
        )


def test_an_official_unwraps_its_share_with_the_command_and_k_of_them_rebuild_the_key(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    # given: shares sealed to two officials whose keys are on their own machines (files here)
    _parties, tender, officials = publish_with_officials(2, 2)
    escrow = EscrowKey.objects.get(tender=tender)
    texts = []
    for user, key, cert in officials:
        share = escrow.shares.get(official=user)
        (tmp_path / f"{user.pk}.der").write_bytes(bytes(share.envelope))
        (tmp_path / f"{user.pk}.pem").write_bytes(cert)
        (tmp_path / f"{user.pk}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        out = StringIO()
        # when
        call_command(
            "opening",
            "unwrap-share",
            "--sealed",
            str(tmp_path / f"{user.pk}.der"),
            "--cert",
            str(tmp_path / f"{user.pk}.pem"),
            "--key",
            str(tmp_path / f"{user.pk}.key"),
            stdout=out,
        )
        texts.append(out.getvalue().strip())
    # then
    assert all(text.startswith("tenderhall-share-v1:") for text in texts)
    assert escrow_key_rebuild(shares=texts, certificate_pem=escrow.certificate_pem.encode()).key_size == 3072


# --- the platform's own CA for escrow certificates (production has no demo CA) -----------------------------


def issuing_ca(directory: Path) -> tuple[Path, Path]:
    """A root and an intermediate of a platform's own PKI (valid from before PUBLISH_AT); the intermediate's
    key and certificate in one PEM file (mode 0600), as TENDERHALL_ESCROW_CA_FILE wants it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "江城市公共资源交易中心"),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )

    def certify(subject_key: ec.EllipticCurvePrivateKey, subject: str, issuer_key: ec.EllipticCurvePrivateKey,
                issuer: str) -> x509.Certificate:  # fmt: skip
        usage = x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        return (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(subject_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(PUBLISH_AT - timedelta(days=30))
            .not_valid_after(PUBLISH_AT + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False
            )
            .sign(issuer_key, hashes.SHA256())
        )

    root_key, issuing_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = certify(root_key, "交易中心根CA", root_key, "交易中心根CA")
    issuing = certify(issuing_key, "开标托管证书CA", root_key, "交易中心根CA")
    pkcs8 = serialization.PrivateFormat.PKCS8
    for label, key, certificate in (("root", root_key, root), ("issuing", issuing_key, issuing)):
        (directory / f"{label}.key").write_bytes(
            key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())
        )
        (directory / f"{label}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    bundle = directory / "escrow-ca.pem"
    bundle.write_bytes((directory / "issuing.key").read_bytes() + (directory / "issuing.pem").read_bytes())
    bundle.chmod(0o600)
    return bundle, directory / "root.pem"


def test_with_the_platforms_issuing_ca_the_escrow_certificate_chains_to_its_root(settings, tmp_path):
    import subprocess

    # given: a draft with its officials (their certificates from the demo CA, which the tests trust) ...
    bundle, root = issuing_ca(tmp_path)
    parties = make_parties()
    draft = make_draft_tender(parties)
    attach_signed_document(parties, draft)
    officials = [make_official(i) for i in range(2)]
    ids = [o[0].pk for o in officials]
    services.escrow_plan_set(
        actor=parties.agency_user, tender_id=draft.pk, official_ids=ids, k=2, now=PUBLISH_AT
    )
    # ... and, as in production, no demo CA but the platform's issuing CA
    settings.TENDERHALL_DEMO_CA = False
    settings.TENDERHALL_ESCROW_CA_FILE = bundle
    # when
    procedure_services.tender_publish(actor=parties.agency_user, tender_id=draft.pk, now=PUBLISH_AT)
    # then: openssl verifies the escrow certificate against the platform's root through the intermediate
    (tmp_path / "escrow.pem").write_text(EscrowKey.objects.get(tender=draft).certificate_pem)
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", str(root), "-untrusted", str(tmp_path / "issuing.pem"),
         "-attime", str(int(PUBLISH_AT.timestamp()) + 60), str(tmp_path / "escrow.pem")],
        capture_output=True, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr.decode()


def test_without_a_ca_for_escrow_certificates_the_plan_is_refused_with_what_to_do(settings):
    from tenderhall.accounts.trust import EscrowIssuerMissing

    parties = make_parties()
    tender = make_draft_tender(parties)
    officials = [make_official(i) for i in range(2)]
    settings.TENDERHALL_DEMO_CA = False
    settings.TENDERHALL_ESCROW_CA_FILE = None
    with pytest.raises(EscrowIssuerMissing, match="TENDERHALL_ESCROW_CA_FILE") as refused:
        services.escrow_plan_set(
            actor=parties.agency_user,
            tender_id=tender.pk,
            official_ids=[o[0].pk for o in officials],
            k=2,
            now=PUBLISH_AT,
        )
    assert (refused.value.code, refused.value.status) == ("escrow_ca_missing", 422)


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (lambda d: (d / "issuing.pem").read_bytes(), 0o600, "must hold an unencrypted PKCS#8 private key"),
        (lambda d: (d / "issuing.key").read_bytes() + (d / "issuing.pem").read_bytes(), 0o644, "chmod 600"),
        (
            lambda d: (d / "root.key").read_bytes() + (d / "issuing.pem").read_bytes(),
            0o600,
            "not an EC key of",
        ),
    ],
)
def test_a_bad_issuing_ca_file_is_named_with_its_problem(tmp_path, content, mode, message):
    from tenderhall.accounts.trust import TrustStoreError, issuing_ca_load

    issuing_ca(tmp_path)
    bad = tmp_path / "bad.pem"
    bad.write_bytes(content(tmp_path))
    bad.chmod(mode)
    with pytest.raises(TrustStoreError, match=message):
        issuing_ca_load(bad)
