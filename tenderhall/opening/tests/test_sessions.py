"""The opening: started at the deadline, bidders decrypt in the window with keys unwrapped on their own
machines, failures and their effects, the escrow opening by k officials, and the signed opening record."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from tenderhall.accounts.tsa_keys import receipt_signer_load_or_create
from tenderhall.core.errors import Conflict, InvalidInput, NotFound
from tenderhall.core.models import AuditEntry
from tenderhall.core.receipts import receipt_verify
from tenderhall.ledger.models import Leaf
from tenderhall.ledger.verify import verify_local
from tenderhall.opening import sessions
from tenderhall.opening.escrow import EscrowShareMismatch
from tenderhall.opening.models import OpenedBid, OpenedVia, OpeningLot, Outcome, SessionStatus, SubmittedShare
from tenderhall.opening.tests.scene import (
    DEADLINE,
    DURING,
    _ca,
    form_for,
    make_opening,
    open_at_deadline,
    read_envelope,
    sealed_with_client,
    sealed_with_openssl,
    submit,
)
from tenderhall.opening.unseal import BidUnsealRefused
from tenderhall.procedures.choices import NoticeKind, TenderStatus
from tenderhall.procedures.models import Notice
from tenderhall.procedures.scheduler import procedures_tick

pytestmark = pytest.mark.django_db
AT_OPENING = DEADLINE + timedelta(minutes=5)
AFTER_WINDOW = DEADLINE + timedelta(minutes=60)


def outcome(bidder) -> tuple[str, str]:
    opened = OpenedBid.objects.get(bid=bidder.bid)
    return opened.outcome, opened.opened_via


def test_at_the_deadline_the_session_starts_and_only_now_names_the_bids(tmp_path):
    # given / when
    opening = open_at_deadline(tmp_path)
    # then
    session = opening.session
    assert opening.tender.status == TenderStatus.OPENING
    assert (session.status, session.started_at, session.decryption_until) == (
        SessionStatus.DECRYPTING,
        DEADLINE,
        DEADLINE + timedelta(minutes=60),
    )
    assert session.escrow_allowed
    assert [(lot.bid_count, lot.failed) for lot in OpeningLot.objects.filter(session=session)] == [(3, False)]
    assert list(session.bids.values_list("outcome", flat=True)) == [Outcome.PENDING] * 3
    leaf = json.loads(bytes(Leaf.objects.get(event_type="opening:session:started").data))
    assert [bid["bid"] for bid in leaf["data"]["lots"][0]["bids"]] == [
        str(b.bid.token) for b in opening.bidders
    ]
    # a second tick, or a second start, opens nothing twice
    procedures_tick(now=DEADLINE + timedelta(minutes=1))
    assert sessions.opening_start(opening.tender, now=AT_OPENING).pk == session.pk
    assert Leaf.objects.filter(event_type="opening:session:started").count() == 1


def test_a_whole_opening_with_client_and_openssl_envelopes_ends_in_a_signed_record(tmp_path):
    # given: bids sealed by the client (AES-256-GCM, OAEP) and by openssl (AES-256-CBC, PKCS#1 v1.5)
    opening = open_at_deadline(tmp_path, sealers=("client", "openssl", "client"))
    # when: each bidder unwraps its key on its own machine and hands it over
    for bidder in opening.bidders:
        sessions.content_key_submit(
            actor=bidder.user, bid_id=bidder.bid.pk, content_key=bidder.content_key(), now=AT_OPENING
        )
    record_session = sessions.record_publish(
        actor=opening.parties.agency_user, tender_id=opening.tender.pk, now=AT_OPENING + timedelta(minutes=1)
    )
    # then: every bid opened, with its form read
    rows = list(OpenedBid.objects.order_by("bid__submitted_at"))
    assert [(r.outcome, r.opened_via, str(r.price), r.duration_days) for r in rows] == [
        (Outcome.OPENED, OpenedVia.BIDDER, "9350000.00", 180),
        (Outcome.OPENED, OpenedVia.BIDDER, "9120500.50", 190),
        (Outcome.OPENED, OpenedVia.BIDDER, "9488000.00", 200),
    ]
    assert rows[1].form == {"bidder_no": 1, "duration_days": 190, "price": "9120500.50", "quality": "合格"}
    assert (
        rows[0].signer_fingerprint
        == hashlib.sha256(
            opening.bidders[0].signing_cert.public_bytes(encoding=serialization.Encoding.DER)
        ).hexdigest()
    )
    with rows[0].package.open("rb") as package:
        assert hashlib.sha256(package.read()).hexdigest() == rows[0].package_sha256
    # the record: signed by the platform, a published notice, a ledger leaf
    signer = receipt_signer_load_or_create()
    assert record_session.record is not None
    record = receipt_verify(record_session.record, public_key=signer.private_key.public_key())
    bids = record["lots"][0]["bids"]
    assert [(b["bidder"], b["price"], b["duration_days"], b["fields"]) for b in bids] == [
        ("江城建工集团有限公司", "9350000.00", 180, {"bidder_no": "0", "quality": "合格"}),
        ("楚天路桥工程有限公司", "9120500.50", 190, {"bidder_no": "1", "quality": "合格"}),
        ("汉江市政建设有限公司", "9488000.00", 200, {"bidder_no": "2", "quality": "合格"}),
    ]
    notice = Notice.objects.get(tender=opening.tender, kind=NoticeKind.OPENING_RECORD)
    assert notice.published_at == AT_OPENING + timedelta(minutes=1)
    assert "楚天路桥工程有限公司：投标报价 9120500.50 元，工期 190 日历天" in notice.body
    assert Leaf.objects.filter(event_type="opening:bid:opened").count() == 3
    assert Leaf.objects.filter(event_type="opening:record:published").count() == 1
    # bidders confirm the record
    sessions.record_confirm(actor=opening.bidders[0].user, bid_id=opening.bidders[0].bid.pk, now=AT_OPENING)
    with pytest.raises(Conflict):
        sessions.record_confirm(
            actor=opening.bidders[0].user, bid_id=opening.bidders[0].bid.pk, now=AT_OPENING
        )
    report = verify_local()
    assert (report.problems, report.unknown_types) == ([], {})


def test_a_wrong_key_is_refused_and_may_be_retried_and_a_key_sent_twice_is_refused(tmp_path):
    opening = open_at_deadline(tmp_path)
    bidder = opening.bidders[0]
    # when: a wrong key (another bid's)
    with pytest.raises(BidUnsealRefused) as refused:
        sessions.content_key_submit(
            actor=bidder.user,
            bid_id=bidder.bid.pk,
            content_key=opening.bidders[2].content_key(),
            now=AT_OPENING,
        )
    # then: still pending, one attempt counted
    assert refused.value.details["reason"] == "decryption_failed"
    opened = OpenedBid.objects.get(bid=bidder.bid)
    assert (opened.outcome, opened.attempts, opened.last_failure) == (Outcome.PENDING, 1, "decryption_failed")
    # when: the right key, then the same key again
    sessions.content_key_submit(
        actor=bidder.user, bid_id=bidder.bid.pk, content_key=bidder.content_key(), now=AT_OPENING
    )
    with pytest.raises(sessions.BidAlreadyDecided):
        sessions.content_key_submit(
            actor=bidder.user, bid_id=bidder.bid.pk, content_key=bidder.content_key(), now=AT_OPENING
        )
    assert outcome(bidder) == (Outcome.OPENED, OpenedVia.BIDDER)
    assert Leaf.objects.filter(event_type="opening:bid:opened").count() == 1


def test_another_bidder_cannot_hand_over_a_key_for_a_bid_not_its_own(tmp_path):
    opening = open_at_deadline(tmp_path)
    owner, other = opening.bidders[0], opening.bidders[1]
    with pytest.raises(NotFound):
        sessions.content_key_submit(
            actor=other.user, bid_id=owner.bid.pk, content_key=owner.content_key(), now=AT_OPENING
        )


def test_a_key_after_the_window_is_refused_and_the_window_end_revokes_the_bids_not_decrypted(tmp_path):
    opening = open_at_deadline(tmp_path)
    first, late = opening.bidders[0], opening.bidders[1]
    sessions.content_key_submit(
        actor=first.user, bid_id=first.bid.pk, content_key=first.content_key(), now=AT_OPENING
    )
    # when: the exact end of the window
    with pytest.raises(sessions.OpeningWindowClosed):
        sessions.content_key_submit(
            actor=late.user, bid_id=late.bid.pk, content_key=late.content_key(), now=AFTER_WINDOW
        )
    closed = sessions.opening_windows_close_due(now=AFTER_WINDOW)
    # then
    assert closed == 1
    assert sessions.opening_windows_close_due(now=AFTER_WINDOW) == 0
    assert opening.session.status == SessionStatus.DECIDING
    assert [outcome(b)[0] for b in opening.bidders] == [Outcome.OPENED, Outcome.REVOKED, Outcome.REVOKED]
    assert Leaf.objects.filter(event_type="opening:bid:failed").count() == 2


def _tampered(envelope: bytes, *, at: int) -> bytes:
    data = bytearray(envelope)
    data[at] ^= 0x01
    return bytes(data)


def test_a_tampered_gcm_bid_fails_its_tag_and_a_tampered_cbc_bid_fails_its_signature(tmp_path):
    # given: bidder 0 submitted an AES-GCM envelope with one flipped ciphertext byte, bidder 1 a CBC one
    opening = make_opening(tmp_path, bidders=3)
    gcm, cbc, good = opening.bidders
    gcm_envelope = sealed_with_client(opening, gcm, form=form_for(0))
    cbc_envelope = sealed_with_openssl(opening, cbc, form=form_for(1))
    submit(opening, gcm, _tampered(gcm_envelope, at=len(gcm_envelope) - 40))
    submit(opening, cbc, _tampered(cbc_envelope, at=len(cbc_envelope) - 200))
    submit(opening, good, sealed_with_client(opening, good, form=form_for(2)))
    procedures_tick(now=DEADLINE)
    # when / then: GCM: the tag check fails, as a wrong key would (the bidder may try again)
    with pytest.raises(BidUnsealRefused) as refused:
        sessions.content_key_submit(
            actor=gcm.user, bid_id=gcm.bid.pk, content_key=gcm.content_key(), now=AT_OPENING
        )
    assert refused.value.details["reason"] == "decryption_failed"
    assert outcome(gcm)[0] == Outcome.PENDING
    # CBC: decrypts to a damaged block, which the bidder's signature catches; final, the bidder's fault
    with pytest.raises(BidUnsealRefused) as refused:
        sessions.content_key_submit(
            actor=cbc.user, bid_id=cbc.bid.pk, content_key=cbc.content_key(), now=AT_OPENING
        )
    assert refused.value.details["reason"] in {"signature_invalid", "not_signed"}
    assert outcome(cbc)[0] == Outcome.REVOKED
    # the opening goes on for the others
    sessions.content_key_submit(
        actor=good.user, bid_id=good.bid.pk, content_key=good.content_key(), now=AT_OPENING
    )
    assert outcome(good)[0] == Outcome.OPENED


def test_a_stored_envelope_altered_on_the_platform_is_caught_by_its_hash_and_is_not_the_bidders_fault(
    tmp_path,
):
    opening = open_at_deadline(tmp_path)
    bidder = opening.bidders[0]
    key = bidder.content_key()
    path = Path(settings.TENDERHALL_DATA_DIR) / "files" / str(bidder.bid.envelope.name)
    path.write_bytes(_tampered(path.read_bytes(), at=100))
    with pytest.raises(sessions.OpeningNotReady) as refused:
        sessions.content_key_submit(actor=bidder.user, bid_id=bidder.bid.pk, content_key=key, now=AT_OPENING)
    assert refused.value.details == {"reason": "stored_envelope_altered"}
    opened = OpenedBid.objects.get(bid=bidder.bid)
    assert (opened.outcome, opened.last_failure) == (Outcome.WITHDRAWN, "stored_envelope_altered")
    assert any("stored envelope" in p or str(bidder.bid.token) in p for p in verify_local().problems)


def test_a_bid_signed_with_a_foreign_or_expired_certificate_is_revoked(tmp_path):
    opening = make_opening(tmp_path, bidders=3)
    foreign, expired, good = opening.bidders
    # foreign: bidder 0 signs with bidder 2's signing key and certificate
    stolen = replace(foreign, signing_key=good.signing_key, signing_cert=good.signing_cert)
    submit(opening, foreign, sealed_with_client(opening, stolen, form=form_for(0)))
    # expired: a certificate of the bidder's name that ran out before the bid was submitted
    key_pem, cert_pem = _ca().issue_key_and_certificate(
        common_name=expired.entity.name,
        serial_number=expired.entity.identifier,
        usage="signing",
        now=DURING - timedelta(days=40),
        days=30,
    )
    lapsed_key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(lapsed_key, rsa.RSAPrivateKey)
    lapsed = replace(expired, signing_key=lapsed_key, signing_cert=x509.load_pem_x509_certificate(cert_pem))
    submit(opening, expired, sealed_with_client(opening, lapsed, form=form_for(1)))
    submit(opening, good, sealed_with_client(opening, good, form=form_for(2)))
    procedures_tick(now=DEADLINE)
    # when / then
    with pytest.raises(sessions.SignerRejected) as refused:
        sessions.content_key_submit(
            actor=foreign.user, bid_id=foreign.bid.pk, content_key=foreign.content_key(), now=AT_OPENING
        )
    assert refused.value.details["reason"] == "not_the_bidder"
    with pytest.raises(sessions.SignerRejected) as refused:
        sessions.content_key_submit(
            actor=expired.user, bid_id=expired.bid.pk, content_key=expired.content_key(), now=AT_OPENING
        )
    assert refused.value.details["reason"] == "certificate"
    assert refused.value.details["certificate"]["reason"] == "expired"
    assert [outcome(b)[0] for b in opening.bidders[:2]] == [Outcome.REVOKED, Outcome.REVOKED]


def test_k_officials_open_a_bid_that_failed_through_no_fault_of_its_bidder(tmp_path):
    # given: bidder 1 could not decrypt (say its CA's service was down); the window ends
    opening = open_at_deadline(tmp_path)
    ok, stuck, other = opening.bidders
    for bidder in (ok, other):
        sessions.content_key_submit(
            actor=bidder.user, bid_id=bidder.bid.pk, content_key=bidder.content_key(), now=AT_OPENING
        )
    sessions.opening_windows_close_due(now=AFTER_WINDOW)
    manager = opening.parties.agency_user
    with pytest.raises(InvalidInput):
        sessions.bid_fault_decide(
            actor=manager, bid_id=stuck.bid.pk, bidder_at_fault=False, reason=" ", now=AFTER_WINDOW
        )
    sessions.bid_fault_decide(
        actor=manager,
        bid_id=stuck.bid.pk,
        bidder_at_fault=False,
        reason="CA 服务中断（已核实）",
        now=AFTER_WINDOW,
    )
    assert outcome(stuck)[0] == Outcome.WITHDRAWN
    decision = (
        AuditEntry.objects.filter(action="opening:bid:failed", subject_id=str(stuck.bid.pk))
        .order_by("id")
        .last()
    )
    assert decision is not None
    assert decision.changes["outcome"] == [Outcome.REVOKED, Outcome.WITHDRAWN]
    first, second, third = opening.officials
    # when: one share is not enough, and it cannot be given twice
    result = sessions.share_submit(
        actor=first.user, tender_id=opening.tender.pk, share=first.share(opening.tender), now=AFTER_WINDOW
    )
    assert (result.submitted, result.k, result.opened) == (1, 2, [])
    assert outcome(stuck)[0] == Outcome.WITHDRAWN
    with pytest.raises(sessions.ShareAlreadySubmitted):
        sessions.share_submit(
            actor=first.user, tender_id=opening.tender.pk, share=first.share(opening.tender), now=AFTER_WINDOW
        )
    # a share that is not the one sealed to this official
    with pytest.raises(EscrowShareMismatch):
        sessions.share_submit(
            actor=second.user,
            tender_id=opening.tender.pk,
            share=third.share(opening.tender),
            now=AFTER_WINDOW,
        )
    # when: the second official's own share
    result = sessions.share_submit(
        actor=second.user, tender_id=opening.tender.pk, share=second.share(opening.tender), now=AFTER_WINDOW
    )
    # then: exactly the eligible bid is opened by the rebuilt key, and no share is kept
    assert [o.bid_id for o in result.opened] == [stuck.bid.pk]
    assert outcome(stuck) == (Outcome.OPENED, OpenedVia.ESCROW)
    assert str(OpenedBid.objects.get(bid=stuck.bid).price) == "9120500.50"
    assert SubmittedShare.objects.count() == 0
    assert Leaf.objects.filter(event_type="opening:share:submitted").count() == 2
    used = json.loads(bytes(Leaf.objects.get(event_type="opening:escrow:used").data))
    assert used["data"]["opened"] == [str(stuck.bid.token)]
    # nothing is left for the third official to open
    with pytest.raises(sessions.OpeningNotReady):
        sessions.share_submit(
            actor=third.user, tender_id=opening.tender.pk, share=third.share(opening.tender), now=AFTER_WINDOW
        )
    sessions.record_publish(actor=manager, tender_id=opening.tender.pk, now=AFTER_WINDOW)
    report = verify_local()
    assert (report.problems, report.unknown_types) == ([], {})


def test_the_escrow_key_never_opens_a_bid_revoked_through_its_bidders_fault(tmp_path):
    opening = open_at_deadline(tmp_path)
    sessions.opening_windows_close_due(now=AFTER_WINDOW)
    first = opening.officials[0]
    with pytest.raises(sessions.OpeningNotReady):
        sessions.share_submit(
            actor=first.user, tender_id=opening.tender.pk, share=first.share(opening.tender), now=AFTER_WINDOW
        )
    assert SubmittedShare.objects.count() == 0


def test_the_record_waits_for_the_window_and_is_published_once(tmp_path):
    opening = open_at_deadline(tmp_path)
    manager = opening.parties.agency_user
    with pytest.raises(sessions.OpeningNotReady) as refused:
        sessions.record_publish(actor=manager, tender_id=opening.tender.pk, now=AT_OPENING)
    assert refused.value.details == {"pending": 3}
    sessions.opening_windows_close_due(now=AFTER_WINDOW)
    sessions.record_publish(actor=manager, tender_id=opening.tender.pk, now=AFTER_WINDOW)
    with pytest.raises(Conflict):
        sessions.record_publish(actor=manager, tender_id=opening.tender.pk, now=AFTER_WINDOW)
    with pytest.raises(NotFound):
        sessions.record_publish(actor=opening.bidders[0].user, tender_id=opening.tender.pk, now=AFTER_WINDOW)
    record = opening.session.record
    assert record is not None
    bids = record["lots"][0]["bids"]
    assert [(b["outcome"], b["reason"]) for b in bids] == [
        ("revoked", "Not decrypted within the decryption window.")
    ] * 3


def test_the_platform_holds_no_plaintext_until_the_bidder_hands_over_its_key(tmp_path):
    opening = open_at_deadline(tmp_path)
    root = Path(settings.TENDERHALL_DATA_DIR) / "files"
    assert not (root / "opened").exists()
    bidder = opening.bidders[0]
    sessions.content_key_submit(
        actor=bidder.user, bid_id=bidder.bid.pk, content_key=bidder.content_key(), now=AT_OPENING
    )
    assert len([p for p in (root / "opened").rglob("*") if p.is_file()]) == 1
    assert read_envelope(bidder.bid)  # the envelope itself stays as sent


def test_a_lot_with_too_few_bids_of_its_own_fails_while_the_others_open(tmp_path):
    # given: lot 1 has three bids, lot 2 one (works: three are needed)
    opening = make_opening(tmp_path, bidders=4, extra_lots=1)
    for index, bidder in enumerate(opening.bidders[:3]):
        submit(opening, bidder, sealed_with_client(opening, bidder, form=form_for(index)))
    lone = opening.bidders[3]
    submit(opening, lone, sealed_with_client(opening, lone, form=form_for(0)), lot_index=1)
    # when
    procedures_tick(now=DEADLINE)
    # then: the tender opens; lot 2 fails (流标) and its bid is not opened
    opening.tender.refresh_from_db()
    assert opening.tender.status == TenderStatus.OPENING
    lots = list(OpeningLot.objects.filter(session=opening.session).order_by("lot__code"))
    assert [(lot.bid_count, lot.failed) for lot in lots] == [(3, False), (1, True)]
    assert not OpenedBid.objects.filter(bid=lone.bid).exists()
    with pytest.raises(NotFound):
        sessions.content_key_submit(
            actor=lone.user, bid_id=lone.bid.pk, content_key=lone.content_key(), now=AT_OPENING
        )
    sessions.opening_windows_close_due(now=AFTER_WINDOW)
    session = sessions.record_publish(
        actor=opening.parties.agency_user, tender_id=opening.tender.pk, now=AFTER_WINDOW
    )
    assert session.record is not None
    assert [(lot["bid_count"], lot["failed"], len(lot["bids"])) for lot in session.record["lots"]] == [
        (3, False, 3),
        (1, True, 0),
    ]


def test_a_bidder_objects_to_the_record_at_the_opening_and_the_answer_is_recorded(tmp_path):
    from tenderhall.procedures.objections import objection_answer, objection_raise

    opening = open_at_deadline(tmp_path)
    sessions.opening_windows_close_due(now=AFTER_WINDOW)
    sessions.record_publish(actor=opening.parties.agency_user, tender_id=opening.tender.pk, now=AFTER_WINDOW)
    bidder = opening.bidders[1]
    objection = objection_raise(
        actor=bidder.user,
        tender_id=opening.tender.pk,
        entity_id=bidder.entity.pk,
        subject="opening",
        text="本单位已在解密时限内提交密钥，平台未及时处理。",
        now=AFTER_WINDOW,
    )
    answered = objection_answer(
        actor=opening.parties.agency_user,
        objection_id=objection.pk,
        answer="经核查平台日志，贵单位未在时限内提交密钥，维持开标记录。",
        now=AFTER_WINDOW + timedelta(minutes=5),
    )
    assert (answered.status, answered.answered_at) == ("answered", AFTER_WINDOW + timedelta(minutes=5))
    assert [
        leaf.event_type for leaf in Leaf.objects.filter(event_type__startswith="procedures:objection")
    ] == [
        "procedures:objection:raised",
        "procedures:objection:answered",
    ]
    assert opening.tender.status == TenderStatus.OPENING  # an objection at the opening does not suspend


def test_the_escrow_key_opens_several_bids_side_by_side(tmp_path):
    # given: nobody could decrypt (say the platform was down for the whole window), all found not at fault
    opening = open_at_deadline(tmp_path, sealers=("client", "openssl", "client"))
    sessions.opening_windows_close_due(now=AFTER_WINDOW)
    for bidder in opening.bidders:
        sessions.bid_fault_decide(
            actor=opening.parties.agency_user,
            bid_id=bidder.bid.pk,
            bidder_at_fault=False,
            reason="平台故障",
            now=AFTER_WINDOW,
        )
    # when: two officials hand over their shares
    for official in opening.officials[:2]:
        result = sessions.share_submit(
            actor=official.user,
            tender_id=opening.tender.pk,
            share=official.share(opening.tender),
            now=AFTER_WINDOW,
        )
    # then: every bid opened by the rebuilt key, on the pool's threads, with its own form
    assert sorted(o.bid_id for o in result.opened) == sorted(b.bid.pk for b in opening.bidders)
    assert result.failed == {}
    assert [str(OpenedBid.objects.get(bid=b.bid).price) for b in opening.bidders] == [
        "9350000.00",
        "9120500.50",
        "9488000.00",
    ]
    assert {outcome(b) for b in opening.bidders} == {(Outcome.OPENED, OpenedVia.ESCROW)}
