from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenderhall.evaluation.choices import (
    ClarificationKind,
    EvaluationStatus,
    MemberKind,
    MemberStatus,
)


class Expert(models.Model):
    """An evaluation expert (评标专家) of the platform's pool. ``code`` is the expert's public pseudonym: the
    draw record names codes, never people."""

    code = models.CharField(_("专家编号"), max_length=20, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="expert"
    )
    full_name = models.CharField(_("姓名"), max_length=100)
    specialties = models.JSONField(_("评标专业"), default=list)  # category codes, e.g. ["A010101"]
    region_code = models.CharField(_("所在地区"), max_length=6)
    # Employers and conflicts by the entity's identifier (USCC), so that an entity registered later still
    # matches.
    employer_identifier = models.CharField(_("工作单位统一社会信用代码"), max_length=32, blank=True)
    employer_name = models.CharField(_("工作单位"), max_length=200, blank=True)
    former_employers = models.JSONField(default=list, blank=True)  # identifiers, the last three years
    conflicts = models.JSONField(default=list, blank=True)  # identifiers the expert declared a conflict with
    title = models.CharField(_("职称"), max_length=60)
    years = models.PositiveSmallIntegerField(_("从业年限"), default=0)
    available = models.BooleanField(_("可参加评标"), default=True)
    credit = models.PositiveSmallIntegerField(_("信用分"), default=100)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ("code",)
        constraints = (
            models.CheckConstraint(condition=Q(credit__lte=100), name="expert_credit_at_most_100"),
        )

    def __str__(self) -> str:
        return self.code


class Evaluation(models.Model):
    """The evaluation of one lot: its method and parameters (data, set per tender), and where it stands."""

    lot = models.OneToOneField("procedures.Lot", on_delete=models.PROTECT, related_name="evaluation")
    method = models.CharField(max_length=24)
    config = models.JSONField()  # methods.MethodConfig as data, plus aggregation settings
    status = models.CharField(max_length=12, choices=EvaluationStatus.choices, default=EvaluationStatus.SETUP)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    results = models.JSONField(null=True, blank=True)  # aggregated scores, ranks and candidates
    concluded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"evaluation of lot {self.lot_id}"


class Committee(models.Model):
    """The evaluation committee of a lot and its verifiable draw (see draw.py for the algorithm)."""

    evaluation = models.OneToOneField(Evaluation, on_delete=models.PROTECT, related_name="committee")
    specialty = models.CharField(max_length=20)
    experts = models.PositiveSmallIntegerField()
    representatives = models.PositiveSmallIntegerField(default=0)
    avoid_same_region = models.BooleanField(default=False)
    pairing_limit = models.PositiveSmallIntegerField(null=True, blank=True)
    pairing_days = models.PositiveSmallIntegerField(default=365)
    seed = models.BinaryField()  # secret until revealed
    commitment = models.CharField(max_length=71)
    committed_at = models.DateTimeField()
    eligible = models.JSONField(null=True, blank=True)  # the sorted eligible codes, fixed at the draw
    eligible_hash = models.CharField(max_length=71, blank=True)
    excluded = models.JSONField(null=True, blank=True)  # code → avoidance reasons (kept from the public)
    drawn_at = models.DateTimeField(null=True, blank=True)
    revealed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"committee of {self.evaluation_id}"


class TieDraw(models.Model):
    """The lot's tie-break draw (see ties.py for the rules): a seed committed when the evaluation is set up,
    before any score exists; the bids tied for the first place, fixed at the conclusion; their order, drawn
    from the seed, which is then revealed (or revealed unused when no tie for the first place arose)."""

    evaluation = models.OneToOneField(Evaluation, on_delete=models.PROTECT, related_name="tie_draw")
    seed = models.BinaryField()  # secret until revealed
    commitment = models.CharField(max_length=71)
    committed_at = models.DateTimeField()
    # [{"bid": evaluated bid id, "key": SHA-256 hex of the sealed bid}] by key, fixed at the conclusion
    tied = models.JSONField(default=list, blank=True)
    order = models.JSONField(default=list, blank=True)  # evaluated bid ids in draw order
    drawn_at = models.DateTimeField(null=True, blank=True)
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = (
            models.CheckConstraint(
                condition=Q(drawn_at__isnull=True) | Q(revealed_at__isnull=False),
                name="tie_draw_reveals_its_seed",
            ),
        )

    def __str__(self) -> str:
        return f"tie draw of {self.evaluation_id}"


class Member(models.Model):
    """A seat on a committee: a drawn expert, or a representative the tenderee appoints."""

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="members")
    kind = models.CharField(max_length=16, choices=MemberKind.choices)
    expert = models.ForeignKey(Expert, null=True, blank=True, on_delete=models.PROTECT, related_name="seats")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()  # in the draw order (experts), or appointment order
    status = models.CharField(max_length=12, choices=MemberStatus.choices, default=MemberStatus.INVITED)
    invited_at = models.DateTimeField()
    declined_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(blank=True)
    decline_conflict = models.BooleanField(default=False)
    declaration = models.TextField(blank=True)  # the canonical no-conflict declaration text signed
    declaration_signature = models.BinaryField(null=True, blank=True)
    declaration_certificate = models.ForeignKey(
        "accounts.Certificate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    declared_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)  # compliance and scores handed in

    class Meta:
        ordering = ("committee", "kind", "position")
        constraints = (
            models.UniqueConstraint(fields=("committee", "user"), name="member_once_per_committee"),
            models.CheckConstraint(
                condition=Q(kind=MemberKind.REPRESENTATIVE) | Q(expert__isnull=False),
                name="member_expert_set",
            ),
        )

    def __str__(self) -> str:
        return f"seat {self.position} of {self.committee_id}"


class EvaluatedBid(models.Model):
    """A bid under evaluation: what the opening read from it, and its rank once settled. The committee's
    totals and rejections are in ``Evaluation.results`` only (its hash is logged)."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="bids")
    bid = models.OneToOneField("bids.Bid", on_delete=models.PROTECT, related_name="evaluation")
    entity = models.ForeignKey("registry.MarketEntity", on_delete=models.PROTECT, related_name="+")
    price = models.DecimalField(max_digits=20, decimal_places=2)
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    low_price_triggers = models.JSONField(default=list)  # the abnormally-low triggers fired, with inputs
    # the settled rank (the tie for the first place drawn); None when rejected or before the conclusion
    rank = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("evaluation", "price", "id")

    def __str__(self) -> str:
        return f"bid {self.bid_id} in {self.evaluation_id}"


class ComplianceMark(models.Model):
    """One member's mark on one rejection ground (否决投标, 条例 art. 51) for one bid, with the reason."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="marks")
    bid = models.ForeignKey(EvaluatedBid, on_delete=models.PROTECT, related_name="marks")
    ground = models.CharField(max_length=24)
    reason = models.TextField()
    marked_at = models.DateTimeField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=("member", "bid", "ground"), name="mark_once"),)

    def __str__(self) -> str:
        return f"{self.ground} on {self.bid_id}"


class Score(models.Model):
    """One member's score on one factor of one bid (a priced deviation for the lowest-evaluated-price
    method). Confidential: only its member sees it until the committee's result."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="scores")
    bid = models.ForeignKey(EvaluatedBid, on_delete=models.PROTECT, related_name="scores")
    factor = models.CharField(max_length=20)
    value = models.DecimalField(max_digits=20, decimal_places=4)
    scored_at = models.DateTimeField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=("member", "bid", "factor"), name="score_once"),)

    def __str__(self) -> str:
        return f"{self.factor}={self.value} on {self.bid_id}"


class BidClarification(models.Model):
    """A written clarification the committee asks a bidder for through the platform (条例 art. 52), or the
    cost justification of an abnormally low price."""

    bid = models.ForeignKey(EvaluatedBid, on_delete=models.PROTECT, related_name="clarifications")
    kind = models.CharField(max_length=16, choices=ClarificationKind.choices)
    question = models.TextField()
    asked_by = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    asked_at = models.DateTimeField()
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    accepted = models.BooleanField(null=True)  # the committee's finding on a cost justification

    class Meta:
        ordering = ("asked_at", "id")

    def __str__(self) -> str:
        return f"clarification {self.pk} on {self.bid_id}"


class Report(models.Model):
    """The evaluation report (评标报告) as a PDF; its SHA-256 is logged once every member has signed."""

    evaluation = models.OneToOneField(Evaluation, on_delete=models.PROTECT, related_name="report")
    file = models.FileField(upload_to="evaluation-reports/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    content = models.JSONField()
    created_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)  # when the last member signed

    def __str__(self) -> str:
        return f"report of {self.evaluation_id}"


class ReportSignature(models.Model):
    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="signatures")
    member = models.OneToOneField(Member, on_delete=models.PROTECT, related_name="report_signature")
    signature = models.BinaryField()
    certificate = models.ForeignKey("accounts.Certificate", on_delete=models.PROTECT, related_name="+")
    dissent = models.TextField(blank=True)
    signed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"signature of {self.member_id}"


class Publicity(models.Model):
    """The candidates' publicity (中标候选人公示) of a tender: at least the statutory period."""

    tender = models.OneToOneField("procedures.Tender", on_delete=models.PROTECT, related_name="publicity")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    notice = models.ForeignKey("procedures.Notice", on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"publicity of {self.tender_id}"


class Award(models.Model):
    """The tenderee's award decision for a lot, and the contract that follows it."""

    evaluation = models.OneToOneField(Evaluation, on_delete=models.PROTECT, related_name="award")
    winner = models.OneToOneField(EvaluatedBid, on_delete=models.PROTECT, related_name="award")
    reason = models.TextField(blank=True)  # why not the first-ranked candidate, when not
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()
    contract_due_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"award of {self.evaluation_id}"


class Contract(models.Model):
    award = models.OneToOneField(Award, on_delete=models.PROTECT, related_name="contract")
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    signed_on = models.DateTimeField()
    sha256 = models.CharField(max_length=64)  # of the contract document
    late = models.BooleanField()  # signed after the statutory period
    differences = models.JSONField(default=list)  # what departs from the winning bid
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"contract of {self.award_id}"


class BondRefund(models.Model):
    """A bid bond to refund, with its due date; ``refunded_at`` once the agency confirms the refund."""

    bid = models.OneToOneField("bids.Bid", on_delete=models.PROTECT, related_name="bond_refund")
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    due_at = models.DateTimeField()
    refunded_at = models.DateTimeField(null=True, blank=True)
    refunded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("due_at", "id")

    def __str__(self) -> str:
        return f"refund of bid {self.bid_id}"
