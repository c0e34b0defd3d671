"""The authorization matrix of an API router, shared by the apps' tests: each operation is called by every
kind of actor on the same state, the status each gets is compared with the expected row, and a refusal must
change nothing and say why in a stable ``code``.

    def test_authorization_matrix(op):
        world = make_world()
        actual = statuses_by_actor(
            ACTORS, lambda actor: call(op, world, actor), state=state, label=op.label
        )
        assert actual == op.expected
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction


def operation_ids(router: Any) -> set[str]:
    """The operation ids of a ninja router: what its matrix must name, no more and no fewer."""
    return {
        operation.operation_id for view in router.path_operations.values() for operation in view.operations
    }


def statuses_by_actor(
    actors: Iterable[str],
    call: Callable[[str], Any],  # the test client's response
    *,
    state: Callable[[], object],
    label: str,
) -> dict[str, int]:
    """Each actor's status code for ``call(actor)``, every call made on the same state (rolled back to a
    savepoint after it); a 4xx or 5xx must leave ``state()`` as it was and carry a ``code`` in its body."""
    actual: dict[str, int] = {}
    for actor in actors:
        savepoint = transaction.savepoint()
        try:
            before = state()
            response = call(actor)
            actual[actor] = response.status_code
            if response.status_code >= 400:
                assert state() == before, (label, actor)
                assert response.json()["code"], (label, actor)
        finally:
            transaction.savepoint_rollback(savepoint)
    return actual
