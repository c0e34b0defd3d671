"""`tenderhall demo-data`: fictional but realistic entities and users for every role. Idempotent.

Everything is made through the services, so the demo data has its audit entries and ledger leaves like
real data. The demo users' passwords and two-factor secrets are printed: they are for trying the platform
on one's own machine, never for a deployment (the command refuses to run in production mode).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from tenderhall.accounts import services as accounts
from tenderhall.accounts.choices import CertificateUsage, IdType, Role
from tenderhall.accounts.demo_ca import demo_ca_load_or_create
from tenderhall.accounts.models import Certificate, RoleGrant, User
from tenderhall.core import clock
from tenderhall.core.codes import org_code_check_char, resident_id_check_char, uscc_check_char
from tenderhall.evaluation import demo as evaluation_demo
from tenderhall.portal.demo_opening import DemoBidder, demo_opening_start
from tenderhall.portal.demo_tender import demo_tender_publish
from tenderhall.procedures.calendar import CalendarDataMissing
from tenderhall.registry import services as registry
from tenderhall.registry.choices import EntityKind, EntityStatus, SubRegistry
from tenderhall.registry.models import MarketEntity

PASSWORD = "demo-Passw0rd-2026"  # noqa: S105  # demo accounts only; printed for the person trying the platform
REGION = "420100"  # a real GB/T 2260 city code, so the codes validate; every name here is fictional


# The bidders' demo certificates date from before the demo tender's bids.
CERTIFICATES_ISSUED_BEFORE = timedelta(days=45)
# With --evaluations: one tender at each evaluation stage, named after a place in the demo city.
EVALUATION_STAGES = (
    (evaluation_demo.Stage.DRAWN, "东湖中学体育馆"),
    (evaluation_demo.Stage.SCORING, "青山区人民医院门诊楼"),
    (evaluation_demo.Stage.REPORTED, "汉正街地下通道"),
    (evaluation_demo.Stage.PUBLICITY, "沙湖公园步道"),
    (evaluation_demo.Stage.AWARDED, "江汉路步行街"),
    (evaluation_demo.Stage.CONTRACTED, "光谷第三小学教学楼"),
)
EVALUATION_PRICES = ("10688000.00", "10450500.00", "10925000.00")


def uscc(authority_category: str, org_body: str) -> str:
    body = authority_category + REGION + org_body + org_code_check_char(org_body)
    return body + uscc_check_char(body)


def resident_id(county: str, birth: str, sequence: str) -> str:
    body = county + birth + sequence
    return body + resident_id_check_char(body)


@dataclass(frozen=True)
class DemoEntity:
    key: str
    kind: str
    name: str
    identifier: str
    legal_representative: str
    address: str
    tags: tuple[str, ...]


ENTITIES = (
    DemoEntity(
        "centre",
        EntityKind.LEGAL_PERSON,
        "江城市公共资源交易中心",
        uscc("12", "MB000001"),
        "周明远",
        "江城市江岸区政务服务中心三楼",
        (),
    ),
    DemoEntity(
        "school",
        EntityKind.LEGAL_PERSON,
        "江城市第一实验中学",
        uscc("12", "MB000002"),
        "陈静怡",
        "江城市武昌区学府路18号",
        (),
    ),
    DemoEntity(
        "agency",
        EntityKind.INTERMEDIARY,
        "华信工程咨询有限公司",
        uscc("91", "MA000003"),
        "刘建华",
        "江城市汉阳区知音大道66号",
        (SubRegistry.INTERMEDIARY_SERVICES,),
    ),
    DemoEntity(
        "builder",
        EntityKind.LEGAL_PERSON,
        "江城建工集团有限公司",
        uscc("91", "MA000004"),
        "王国栋",
        "江城市青山区和平大道1号",
        (SubRegistry.ENTERPRISES,),
    ),
    DemoEntity(
        "roads",
        EntityKind.LEGAL_PERSON,
        "恒远路桥建设有限公司",
        uscc("91", "MA000005"),
        "赵立新",
        "江城市洪山区光谷大道99号",
        (SubRegistry.ENTERPRISES,),
    ),
    DemoEntity(
        "equipment",
        EntityKind.LEGAL_PERSON,
        "明达机电设备有限公司",
        uscc("91", "MA000006"),
        "孙晓燕",
        "江城市东西湖区临空港大道8号",
        (SubRegistry.ENTERPRISES,),
    ),
    DemoEntity(
        "shop",
        EntityKind.INDIVIDUAL_BUSINESS,
        "江城市李记五金店",
        uscc("92", "MA000007"),
        "李德胜",
        "江城市江汉区新华路101号",
        (),
    ),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    id_number: str
    phone: str
    role: str
    entity: str | None  # DemoEntity.key the role acts for


USERS = (
    DemoUser(
        "operator", "周明远", resident_id("420102", "19800312", "015"), "13800000001", Role.OPERATOR, "centre"
    ),
    DemoUser(
        "regulator", "吴海涛", resident_id("420103", "19781105", "033"), "13800000002", Role.REGULATOR, None
    ),
    DemoUser(
        "tenderee", "陈静怡", resident_id("420106", "19850620", "046"), "13800000003", Role.TENDEREE, "school"
    ),
    DemoUser(
        "agency", "刘建华", resident_id("420105", "19820917", "051"), "13800000004", Role.AGENCY, "agency"
    ),
    DemoUser(
        "bidder1", "王国栋", resident_id("420107", "19790203", "072"), "13800000005", Role.BIDDER, "builder"
    ),
    DemoUser(
        "bidder2", "赵立新", resident_id("420111", "19830728", "091"), "13800000006", Role.BIDDER, "roads"
    ),
    DemoUser(
        "bidder3", "孙晓燕", resident_id("420112", "19900111", "028"), "13800000007", Role.BIDDER, "equipment"
    ),
    DemoUser(
        "bidder4", "李德胜", resident_id("420103", "19750808", "019"), "13800000011", Role.BIDDER, "shop"
    ),
    DemoUser("expert1", "郑文博", resident_id("420102", "19700525", "013"), "13800000008", Role.EXPERT, None),
    DemoUser("expert2", "钱思远", resident_id("420102", "19690314", "035"), "13800000022", Role.EXPERT, None),
    DemoUser("expert3", "冯雅琴", resident_id("420103", "19720808", "042"), "13800000023", Role.EXPERT, None),
    DemoUser("expert4", "蒋志强", resident_id("420104", "19680122", "051"), "13800000024", Role.EXPERT, None),
    DemoUser("expert5", "韩晓东", resident_id("420105", "19750617", "063"), "13800000025", Role.EXPERT, None),
    DemoUser("expert6", "曹丽华", resident_id("420106", "19710930", "074"), "13800000026", Role.EXPERT, None),
    DemoUser("expert7", "彭建军", resident_id("420107", "19660405", "085"), "13800000027", Role.EXPERT, None),
    DemoUser(
        "official1",
        "何雨薇",
        resident_id("420104", "19870930", "024"),
        "13800000009",
        Role.OPENING_OFFICIAL,
        None,
    ),
    DemoUser(
        "official2",
        "马振宇",
        resident_id("420106", "19840416", "057"),
        "13800000010",
        Role.OPENING_OFFICIAL,
        None,
    ),
)


class Command(BaseCommand):
    help = "Load fictional demo entities and users for every role (idempotent; refused in production mode)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--code", metavar="USERNAME", help="print the current two-factor code of a demo user and exit"
        )
        parser.add_argument(
            "--evaluations",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="leave a tender at each evaluation stage, from the drawn committee to the contract (the "
            "default; --no-evaluations: only the registry and the tenders in bidding and at the opening)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.TENDERHALL_MODE == "production":
            raise CommandError(
                "demo-data is refused in production mode: it creates accounts with known passwords."
            )
        if options.get("code"):
            user = User.objects.filter(username=options["code"]).first()
            if user is None or not user.totp_secret:
                raise CommandError(f"{options['code']} is not a demo user with two-factor sign-in.")
            self.stdout.write(pyotp.TOTP(user.totp_secret).now())
            return
        now = clock.now()
        users = {u.username: self._user(u, now) for u in USERS}
        entities = {e.key: self._entity(e, users, now) for e in ENTITIES}
        for demo in USERS:
            self._grant(demo, users, entities, now)
        self._approve(entities, users["operator"], now)
        self._certificates(entities, users, now)
        self._tender(entities, users, now)
        if options.get("evaluations"):
            self._evaluations(entities, users, now)
        self._report(users)

    def _user(self, demo: DemoUser, now: Any) -> User:
        user = User.objects.filter(username=demo.username).first()
        if user is None:
            user = accounts.user_register(
                username=demo.username,
                password=PASSWORD,
                full_name=demo.full_name,
                id_type=IdType.RESIDENT_ID,
                id_number=demo.id_number,
                phone=demo.phone,
                email=f"{demo.username}@demo.tenderhall.invalid",
                now=now,
            )
        return user

    def _entity(self, demo: DemoEntity, users: dict[str, User], now: Any) -> MarketEntity:
        entity = MarketEntity.objects.filter(identifier=demo.identifier).first()
        if entity is None:
            owner = next(u for u in USERS if u.entity == demo.key)
            entity = registry.entity_register(
                actor=users[owner.username],
                kind=demo.kind,
                name=demo.name,
                identifier=demo.identifier,
                role=owner.role if owner.role in (Role.TENDEREE, Role.AGENCY, Role.BIDDER) else Role.TENDEREE,
                address=demo.address,
                legal_representative=demo.legal_representative,
                tags=list(demo.tags),
                contact_phone=owner.phone,
                now=now,
            )
        return entity

    def _grant(
        self, demo: DemoUser, users: dict[str, User], entities: dict[str, MarketEntity], now: Any
    ) -> None:
        user = users[demo.username]
        entity_id = entities[demo.entity].pk if demo.entity else None
        if not RoleGrant.objects.filter(user=user, role=demo.role, entity_id=entity_id).exists():
            accounts.role_grant_unchecked(
                user=user, role=demo.role, entity_id=entity_id, granted_by=None, now=now
            )
        if accounts.two_factor_required_for(user) and not user.two_factor_enabled:
            with transaction.atomic():
                user.totp_secret = pyotp.random_base32()
                user.save(update_fields=["totp_secret"])
            accounts.totp_verify(user=user, code=pyotp.TOTP(user.totp_secret).at(now), now=now)

    def _approve(self, entities: dict[str, MarketEntity], operator: User, now: Any) -> None:
        for entity in entities.values():
            entity.refresh_from_db()
            if entity.status == EntityStatus.PENDING:
                registry.entity_approve(actor=operator, entity_id=entity.pk, now=now)

    def _certificates(self, entities: dict[str, MarketEntity], users: dict[str, User], now: Any) -> None:
        """Signing and encryption certificates from the demo CA for each bidder; keys kept for the client.
        Issued and accepted weeks back, so that the demo tender at its opening has bids made with them."""
        now = now - CERTIFICATES_ISSUED_BEFORE
        ca = demo_ca_load_or_create(Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=now)
        keys = Path(settings.TENDERHALL_DATA_DIR) / "demo-keys"
        keys.mkdir(parents=True, exist_ok=True)
        for demo in USERS:
            if demo.role != Role.BIDDER or demo.entity is None:
                continue
            entity = entities[demo.entity]
            for usage in CertificateUsage.values:
                if Certificate.objects.filter(entity=entity, usage=usage).exists():
                    continue
                key_pem, cert_pem = ca.issue_key_and_certificate(
                    common_name=entity.name,
                    serial_number=entity.identifier,
                    organization=entity.name,
                    usage=usage,
                    now=now,
                )
                key_path = keys / f"{demo.username}-{usage}.key.pem"
                descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "wb") as key_file:
                    key_file.write(key_pem)
                (keys / f"{demo.username}-{usage}.cert.pem").write_bytes(cert_pem)
                registry.entity_certificate_upload(
                    actor=users[demo.username], entity_id=entity.pk, data=cert_pem, usage=usage, now=now
                )

    def _tender(self, entities: dict[str, MarketEntity], users: dict[str, User], now: Any) -> None:
        """A published works tender, and one at its opening, when the working-day calendar covers their
        dates."""
        ca = demo_ca_load_or_create(Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=now)
        keys = Path(settings.TENDERHALL_DATA_DIR) / "demo-keys"
        bidders = [
            DemoBidder(users[name], entities[entity], keys / name)
            for name, entity in (("bidder1", "builder"), ("bidder2", "roads"), ("bidder3", "equipment"))
        ]
        agency_user, agency, tenderee = users["agency"], entities["agency"], entities["school"]
        try:
            demo_tender_publish(agency_user=agency_user, agency=agency, tenderee=tenderee, ca=ca, now=now)
            demo_opening_start(
                agency_user=agency_user, agency=agency, tenderee=tenderee, bidders=bidders, ca=ca, now=now
            )
        except CalendarDataMissing as error:
            self.stdout.write(f"No demo tender: {error.message}")

    def _evaluations(self, entities: dict[str, MarketEntity], users: dict[str, User], now: Any) -> None:
        """One tender at each stage of the evaluation (tenderhall/evaluation/demo.py), opened from bids sealed
        with the demo bidders' keys; the demo experts sign with keys kept next to the bidders'."""
        ca = demo_ca_load_or_create(Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=now)
        keys = Path(settings.TENDERHALL_DATA_DIR) / "demo-keys"
        experts = evaluation_demo.demo_expert_pool(
            operator=users["operator"],
            experts=[users[f"expert{n}"] for n in range(1, 8)],
            ca=ca,
            keys=keys,
            now=now - CERTIFICATES_ISSUED_BEFORE + timedelta(days=1),
        )
        bidders = [
            evaluation_demo.DemoKeys(users[name], entities[entity], keys / name)
            for name, entity in (("bidder1", "builder"), ("bidder2", "roads"), ("bidder3", "equipment"))
        ]
        for stage, place in EVALUATION_STAGES:
            published_at = now - timedelta(days=26 + evaluation_demo.demo_days_needed(stage))
            try:
                tender = demo_tender_publish(
                    agency_user=users["agency"],
                    agency=entities["agency"],
                    tenderee=entities["school"],
                    ca=ca,
                    now=published_at,
                    project_name=f"江城市{place}改造工程",
                    tender_name=f"江城市{place}改造施工",
                )
            except CalendarDataMissing as error:
                self.stdout.write(f"No demo evaluation: {error.message}")
                return
            if tender is None:
                continue
            recorded_at = evaluation_demo.demo_bids_opened(
                tender=tender, agency_user=users["agency"], bidders=bidders, prices=EVALUATION_PRICES
            )
            evaluation_demo.demo_evaluate(
                tender=tender,
                stage=stage,
                agency_user=users["agency"],
                tenderee_user=users["tenderee"],
                experts=experts,
                start=recorded_at,
                publicity_at=now - timedelta(days=1) if stage == evaluation_demo.Stage.PUBLICITY else None,
            )
            self.stdout.write(f"Demo evaluation at {stage}: {tender.name}")

    def _report(self, users: dict[str, User]) -> None:
        self.stdout.write(f"Demo data ready. Every demo user's password: {PASSWORD}")
        for demo in USERS:
            user = users[demo.username]
            user.refresh_from_db()
            line = f"  {demo.username:<10} {demo.full_name}  {Role(demo.role).label}"
            if user.two_factor_enabled:
                line += f"  two-factor secret {user.totp_secret}"
                line += f" (or: tenderhall demo-data --code {demo.username})"
            self.stdout.write(line)
        keys = Path(settings.TENDERHALL_DATA_DIR) / "demo-keys"
        self.stdout.write(f"Bidders' demo keys and certificates: {keys}")
