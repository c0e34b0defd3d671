"""The read-only analytics store of OCDS data imported from other publishers. Rows are written only by the
importer (``exchange.importer``), never edited: a package is kept with every problem found in it, and its
releases as published, so that indicators run over them as they run over the platform's own releases."""

from __future__ import annotations

from django.db import models


class ImportedPackage(models.Model):
    """One imported file: what it held, how it was read, and everything found wrong with it."""

    source = models.CharField(max_length=300)  # the file's name as given
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField()
    encoding = models.CharField(max_length=20)
    form = models.CharField(max_length=24)  # ImportForm
    uri = models.CharField(max_length=1000, blank=True)
    publisher = models.CharField(max_length=300, blank=True)
    version = models.CharField(max_length=10, blank=True)  # as declared; empty means OCDS 1.0 to the tools
    release_count = models.PositiveIntegerField(default=0)
    record_count = models.PositiveIntegerField(default=0)
    schema_error_count = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list)  # [{"kind", "path", "validator", "message"}]
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ("-imported_at", "-id")

    def __str__(self) -> str:
        return f"{self.source} ({self.form})"


class ImportedRelease(models.Model):
    """A release as its publisher published it (``data``), with the fields analytics look up by."""

    package = models.ForeignKey(ImportedPackage, on_delete=models.CASCADE, related_name="releases")
    ocid = models.CharField(max_length=300, db_index=True)
    release_id = models.CharField(max_length=300, blank=True)
    date = models.DateTimeField(null=True, blank=True)  # null when the publisher's date is not RFC 3339
    tags = models.JSONField(default=list)
    data = models.JSONField()

    class Meta:
        ordering = ("ocid", "date", "id")

    def __str__(self) -> str:
        return f"{self.ocid} {self.release_id}"


class ImportedRecord(models.Model):
    """A record's compiled release as its publisher compiled it (record packages only)."""

    package = models.ForeignKey(ImportedPackage, on_delete=models.CASCADE, related_name="records")
    ocid = models.CharField(max_length=300, db_index=True)
    compiled = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ("ocid", "id")

    def __str__(self) -> str:
        return f"record {self.ocid}"
