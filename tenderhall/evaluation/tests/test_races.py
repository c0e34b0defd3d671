"""The last two members declare at the same moment on two connections: the committee still starts scoring
(each declaration counts the seats under the evaluation's row lock, after the other has committed)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from tenderhall.core.tests.concurrency import postgresql_only, waiting_on_a_lock
from tenderhall.evaluation import committees
from tenderhall.evaluation.choices import EvaluationStatus, MemberStatus
from tenderhall.evaluation.models import Evaluation, Member
from tenderhall.evaluation.tests.support import (
    EVALUATION_AT,
    drawn_committee,
    make_scene,
    seated,
    set_up,
    signer_for,
)


@pytest.mark.django_db(transaction=True)
def test_two_last_declarations_at_once_still_start_the_scoring():
    postgresql_only()
    # given a committee where three of five have declared
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    members = seated(committee)
    signatures = {
        m.pk: signer_for(scene, m.user).pkcs7(committees.declaration_text(m).encode()) for m in members
    }
    for member in members[:3]:
        committees.member_declare(
            actor=member.user, evaluation_id=scene.ev.pk, signature=signatures[member.pk], now=EVALUATION_AT
        )
    outcomes: list[str] = []

    def declare(member: Member) -> None:
        try:
            committees.member_declare(
                actor=member.user,
                evaluation_id=scene.ev.pk,
                signature=signatures[member.pk],
                now=EVALUATION_AT,
            )
            outcomes.append("declared")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=declare, args=(m,)) for m in members[3:]]
    # when both declare while the evaluation's row is held
    with transaction.atomic():
        Evaluation.objects.select_for_update().get(pk=scene.ev.pk)
        for thread in threads:
            thread.start()
        blocked = waiting_on_a_lock()
    for thread in threads:
        thread.join(timeout=20)
    # then both declared, and the committee is scoring
    assert blocked
    assert outcomes == ["declared", "declared"]
    assert Member.objects.filter(status=MemberStatus.DECLARED).count() == 5
    assert Evaluation.objects.get(pk=scene.ev.pk).status == EvaluationStatus.SCORING
