"""Registry reads: approved entities are public, the others only to their people and supervisors."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.models import User
from tenderhall.accounts.selectors import entity_ids_for_user, user_supervises
from tenderhall.core.codes import normalize
from tenderhall.core.errors import NotFound
from tenderhall.registry.choices import EntityStatus
from tenderhall.registry.models import EntityVersion, MarketEntity


def entity_list(
    *, viewer: User | None, status: str | None = None, search: str = "", tag: str | None = None
) -> QuerySet[MarketEntity]:
    """What the viewer may list: everything for supervisors, approved plus their own for others."""
    entities = MarketEntity.objects.all()
    if viewer is None:
        entities = entities.filter(status=EntityStatus.APPROVED)
    elif not user_supervises(viewer):
        entities = entities.filter(Q(status=EntityStatus.APPROVED) | Q(pk__in=entity_ids_for_user(viewer)))
    if status:
        entities = entities.filter(status=status)
    if search:
        entities = entities.filter(Q(name__icontains=search) | Q(identifier=normalize(search)))
    if tag:
        # Tags come from a fixed vocabulary without quotes, so matching the quoted value in the JSON text is
        # exact, and works alike on every database (SQLite has no JSON containment).
        entities = entities.filter(tags__icontains=f'"{tag}"')
    return entities.order_by("name", "pk")


def review_queue() -> QuerySet[MarketEntity]:
    return MarketEntity.objects.filter(status=EntityStatus.PENDING).order_by("registered_at", "pk")


def can_see_private(viewer: User | None, entity: MarketEntity) -> bool:
    return viewer is not None and (entity.pk in entity_ids_for_user(viewer) or user_supervises(viewer))


def access_entity_for_viewer(*, viewer: User | None, entity_id: int) -> MarketEntity:
    entity = MarketEntity.objects.filter(pk=entity_id).first()
    if entity is None or (entity.status != EntityStatus.APPROVED and not can_see_private(viewer, entity)):
        raise NotFound(gettext("No such market entity."))
    return entity


def access_entity_history(*, viewer: User | None, entity_id: int) -> QuerySet[EntityVersion]:
    """The versions of an entity: for its people and supervisors only (they hold personal data)."""
    entity = MarketEntity.objects.filter(pk=entity_id).first()
    if entity is None or not can_see_private(viewer, entity):
        raise NotFound(gettext("No such market entity."))
    return entity.versions.select_related("changed_by").order_by("version")
