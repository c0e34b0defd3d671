"""The portal's search index: one entry per published notice (docs/portal-search.md).

The database-specific parts (SQLite's FTS5 table with its triggers, PostgreSQL's GIN index) are made by the
migration, not declared here: Django has no vendor-neutral way to state them, and the ORM never reads them.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


def tsvector_literal(terms: str) -> str:
    """PostgreSQL's text form of a tsvector with each token at its position (1-based), e.g. ``'ab':1,3``.

    Tokens are ASCII letters and digits or other letters and numbers (search.py makes them), so they need
    no quoting beyond the apostrophes; built here rather than by ``to_tsvector`` so that no text-search
    parser or locale can split or change a token.
    """
    positions: dict[str, list[str]] = {}
    for position, token in enumerate(terms.split(), start=1):
        positions.setdefault(token, []).append(str(position))
    return " ".join(f"'{token}':{','.join(at)}" for token, at in positions.items())


class SearchTermsField(models.TextField):  # type: ignore[type-arg]  # django-stubs' generic field
    """A notice's token stream, given and kept as one space-separated string.

    On SQLite it is stored as that text, and an FTS5 table indexes it as external content; on PostgreSQL it
    is stored as a ``tsvector`` (the tokens with their positions) under a GIN index.
    """

    def db_type(self, connection: BaseDatabaseWrapper) -> str:
        return "tsvector" if connection.vendor == "postgresql" else "text"

    def get_placeholder(self, value: object, compiler: object, connection: BaseDatabaseWrapper) -> str:
        return "%s::tsvector" if connection.vendor == "postgresql" else "%s"

    def get_db_prep_value(self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        if connection.vendor == "postgresql" and isinstance(value, str):
            return tsvector_literal(value)
        return value


class NoticeSearchEntry(models.Model):
    """A published notice as the search sees it: its order key and its tokens.

    ``rank`` orders the results (newest publication first): the publication time in whole seconds since
    the epoch, shifted left 31 bits, plus the notice id, so it is unique and a range of ranks is a range of
    publication times.
    """

    notice = models.OneToOneField(
        "procedures.Notice", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    tender = models.ForeignKey("procedures.Tender", on_delete=models.CASCADE, related_name="+")
    rank = models.BigIntegerField(unique=True)
    terms = SearchTermsField()

    class Meta:
        verbose_name = "notice search entry"
        verbose_name_plural = "notice search entries"

    def __str__(self) -> str:
        return f"notice {self.notice_id} @ {self.rank}"
