"""Demo evaluations for `tenderhall demo-data`: an expert pool with signing keys, and tenders whose bids were
sealed with the demo bidders' keys, opened by their bidders, and then taken through the evaluation to a
chosen stage. Everything goes through the services, with real signatures, at moments in the past, so the demo
has the ledger leaves and audit entries real data has and `tenderhall ledger verify` passes on it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from tenderhall.accounts.choices import CertificateUsage
from tenderhall.accounts.demo_ca import DemoCA
from tenderhall.accounts.models import Certificate, User
from tenderhall.accounts.services import certificate_accept
from tenderhall.bids.client import bid_package, bid_seal
from tenderhall.bids.envelope import content_key_unwrap, envelope_inspect, recipient_for
from tenderhall.bids.services import bid_submit
from tenderhall.evaluation import award, committees, pool, reports, selectors, ties, workspace
from tenderhall.evaluation.models import Evaluation, Member
from tenderhall.opening.sessions import content_key_submit, record_publish
from tenderhall.procedures.models import Tender
from tenderhall.procedures.scheduler import procedures_tick
from tenderhall.registry.models import MarketEntity

SPECIALTY = "A0101"  # 房屋建筑工程 in the demo's category codes
CONFIG = {
    "method": "comprehensive",
    "price_weight": "0.30",
    "factors": [
        {"code": "tech", "name": "施工组织设计", "weight": "0.50", "full": "50"},
        {"code": "biz", "name": "项目管理机构与业绩", "weight": "0.20", "full": "20"},
    ],
}
SCORES = (("40", "15"), ("44", "17"), ("38", "16"))


class Stage(StrEnum):
    """How far a demo tender's evaluation goes."""

    DRAWN = "drawn"  # the committee is drawn; the experts have not confirmed yet
    SCORING = "scoring"  # every member declared; the first member has scored, nobody handed in
    REPORTED = "reported"  # the report is signed by every member
    PUBLICITY = "publicity"  # the candidates are published now
    AWARDED = "awarded"
    CONTRACTED = "contracted"


@dataclass(frozen=True)
class DemoKeys:
    """A person or entity and its demo key files (``<prefix>-signing.key.pem``, ``-encryption.cert.pem``)."""

    user: User
    entity: MarketEntity | None
    prefix: Path

    def key(self, usage: str) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(Path(f"{self.prefix}-{usage}.key.pem").read_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey)  # the demo CA makes RSA keys
        return key

    def cert(self, usage: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate(Path(f"{self.prefix}-{usage}.cert.pem").read_bytes())

    def sign(self, content: bytes) -> bytes:
        """A detached CMS signature over ``content``, as ``openssl cms -sign -binary`` makes it."""
        return (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(content)
            .add_signer(self.cert("signing"), self.key("signing"), hashes.SHA256())
            .sign(
                serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
            )
        )


def demo_expert_pool(
    *, operator: User, experts: Sequence[User], ca: DemoCA, keys: Path, now: datetime
) -> list[DemoKeys]:
    """Import the demo experts into the pool and give each a signing certificate (key kept for the demo)."""
    rows = ["code,full_name,username,specialties,region_code,employer_name,title,years"]
    for index, user in enumerate(experts, start=1):
        rows.append(
            f"D{index:03d},{user.full_name},{user.username},{SPECIALTY},110101,北京建筑设计研究院,高级工程师,15"
        )
    pool.expert_import_csv(actor=operator, data=("\n".join(rows) + "\n").encode(), now=now)
    made = []
    for user in experts:
        prefix = keys / user.username
        if not Certificate.objects.filter(user=user, usage=CertificateUsage.SIGNING).exists():
            key_pem, cert_pem = ca.issue_key_and_certificate(
                common_name=user.full_name, serial_number=f"EXPERT-{user.username}", usage="signing", now=now
            )
            descriptor = os.open(f"{prefix}-signing.key.pem", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as key_file:
                key_file.write(key_pem)
            Path(f"{prefix}-signing.cert.pem").write_bytes(cert_pem)
            certificate_accept(actor=user, user=user, data=cert_pem, usage="signing", now=now)
        made.append(DemoKeys(user, None, prefix))
    return made


def demo_bids_opened(
    *, tender: Tender, agency_user: User, bidders: Sequence[DemoKeys], prices: Sequence[str]
) -> datetime:
    """Three bids sealed with the bidders' keys, the deadline passed, each bidder decrypting its own, and the
    opening record published; the moment the record was published."""
    published_at = tender.published_at
    assert published_at is not None
    assert tender.bid_deadline is not None
    procedures_tick(now=published_at)
    lot = tender.lots.get()
    sealed = []
    for index, bidder in enumerate(bidders):
        assert bidder.entity is not None
        form = {"price": prices[index], "duration_days": 170 + 5 * index, "quality": "合格"}
        envelope = bid_seal(
            package=bid_package(bid_json=form, documents=[]),
            signing_key=bidder.key("signing"),
            signing_certificate=bidder.cert("signing"),
            recipients=[bidder.cert("encryption")],
        )
        bid = bid_submit(
            actor=bidder.user,
            lot_id=lot.pk,
            entity_id=bidder.entity.pk,
            envelope=BytesIO(envelope),
            bond_amount=lot.bid_bond,
            bond_payer_account=f"62220202000098765{index:02d}",
            now=published_at + timedelta(days=3, hours=index),
        )
        sealed.append((bidder, bid, envelope))
    deadline = tender.bid_deadline
    procedures_tick(now=deadline)
    for bidder, bid, envelope in sealed:
        der = bidder.cert("encryption").public_bytes(serialization.Encoding.DER)
        content_key = content_key_unwrap(
            recipient_for(envelope_inspect(envelope), der), bidder.key("encryption")
        )
        content_key_submit(
            actor=bidder.user, bid_id=bid.pk, content_key=content_key, now=deadline + timedelta(minutes=5)
        )
    recorded_at = deadline + timedelta(minutes=20)
    record_publish(actor=agency_user, tender_id=tender.pk, now=recorded_at)
    return recorded_at


def demo_evaluate(
    *,
    tender: Tender,
    stage: Stage,
    agency_user: User,
    tenderee_user: User,
    experts: Sequence[DemoKeys],
    start: datetime,
    publicity_at: datetime | None = None,
) -> Evaluation:
    """Take the tender's lot through the evaluation from ``start`` to ``stage`` (see :class:`Stage`)."""
    at = start + timedelta(hours=1)
    lot = tender.lots.get()
    evaluation = committees.evaluation_setup(actor=agency_user, lot_id=lot.pk, config=CONFIG, now=at)
    committee = committees.committee_create(
        actor=agency_user, evaluation_id=evaluation.pk, specialty="A01", experts=5, now=at
    )
    committees.committee_draw(actor=agency_user, committee_id=committee.pk, now=at)
    if stage == Stage.DRAWN:
        return evaluation
    keys = {e.user.pk: e for e in experts}
    members = list(
        Member.objects.filter(committee=committee).select_related("expert", "user").order_by("position")
    )
    at += timedelta(hours=1)
    for member in members:
        text = committees.declaration_text(member).encode()
        committees.member_declare(
            actor=member.user, evaluation_id=evaluation.pk, signature=keys[member.user_id].sign(text), now=at
        )
    bids = list(evaluation.bids.order_by("bid__submitted_at"))
    at += timedelta(hours=2)
    for member in members if stage != Stage.SCORING else members[:1]:
        for index, bid in enumerate(bids):
            for factor, value in zip(("tech", "biz"), SCORES[index % len(SCORES)], strict=True):
                workspace.score_set(
                    actor=member.user,
                    evaluation_id=evaluation.pk,
                    bid_id=bid.pk,
                    factor=factor,
                    value=value,
                    now=at,
                )
        if stage != Stage.SCORING:
            workspace.member_submit(actor=member.user, evaluation_id=evaluation.pk, now=at)
    if stage == Stage.SCORING:
        return evaluation
    at += timedelta(hours=1)
    workspace.evaluation_conclude(actor=agency_user, evaluation_id=evaluation.pk, now=at)
    if ties.tie_pending(selectors.tie_draw_of(evaluation)):  # bids tied for the first place are drawn first
        ties.tie_draw(actor=agency_user, evaluation_id=evaluation.pk, now=at)
    report = reports.report_generate(actor=agency_user, evaluation_id=evaluation.pk, now=at)
    with report.file.open("rb") as handle:
        pdf = handle.read()
    for member in members:
        reports.report_sign(
            actor=member.user, evaluation_id=evaluation.pk, signature=keys[member.user_id].sign(pdf), now=at
        )
    if stage == Stage.REPORTED:
        return evaluation
    publicity = award.candidates_publish(
        actor=agency_user, tender_id=tender.pk, now=publicity_at or at + timedelta(days=1)
    )
    if stage == Stage.PUBLICITY:
        return evaluation
    decided_at = publicity.ends_at + timedelta(hours=2)
    evaluation.refresh_from_db()
    winner = selectors.candidates_settled(evaluation)[0]
    award.award_decide(actor=tenderee_user, evaluation_id=evaluation.pk, bid_id=winner, now=decided_at)
    if stage == Stage.AWARDED:
        return evaluation
    signed_on = decided_at + timedelta(days=6)
    won = evaluation.bids.get(pk=winner)
    award.contract_record(
        actor=tenderee_user,
        evaluation_id=evaluation.pk,
        amount=won.price,
        duration_days=won.duration_days,
        signed_on=signed_on,
        document=f"施工合同 {tender.code} 合同价 {won.price} 元".encode(),
        now=signed_on + timedelta(hours=1),
    )
    return evaluation


def demo_days_needed(stage: Stage) -> int:
    """How many days before ``now`` a stage's tender must have reached its opening record."""
    return {
        Stage.DRAWN: 1,
        Stage.SCORING: 1,
        Stage.REPORTED: 2,
        Stage.PUBLICITY: 3,
        Stage.AWARDED: 8,
        Stage.CONTRACTED: 16,
    }[stage]
