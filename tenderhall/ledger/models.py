from __future__ import annotations

from django.db import models


class LogHead(models.Model):
    """A single row whose lock serialises appends, so leaf indexes are dense and never reused."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"log head at {self.size}"


class Leaf(models.Model):
    """One appended event: RFC 8785 canonical JSON, numbered from 0 without gaps."""

    index = models.BigIntegerField(primary_key=True)
    event_type = models.CharField(max_length=100, db_index=True)
    data = models.BinaryField()
    record_key = models.CharField(max_length=120, db_index=True)
    appended_at = models.DateTimeField()

    class Meta:
        ordering = ("index",)

    def __str__(self) -> str:
        return f"leaf {self.index} {self.event_type}"


class TreeState(models.Model):
    """A single row: how far the integrator has hashed leaves into tiles. Its lock serialises integrators."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"tree integrated to {self.size}"


class Tile(models.Model):
    """A C2SP tlog-tiles hash tile: up to 256 hashes at one level. A partial tile grows in place; a
    partial tile of width W is always the first W hashes of the full tile, so every width is served."""

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=("level", "index"), name="ledger_tile_level_index"),)

    def __str__(self) -> str:
        return f"tile {self.level}/{self.index} ({len(self.data) // 32} hashes)"


class Checkpoint(models.Model):
    """A signed tree head (C2SP checkpoint) with the log's signature; cosignatures are kept apart."""

    size = models.BigIntegerField(unique=True)
    root_hash = models.BinaryField()
    note = models.TextField(help_text="The signed note: checkpoint text, a blank line, the log's signature.")
    signed_at = models.DateTimeField()

    class Meta:
        ordering = ("-size",)

    def __str__(self) -> str:
        return f"checkpoint at {self.size}"


class WitnessPeer(models.Model):
    """A witness this log asks to cosign its checkpoints (C2SP tlog-witness)."""

    name = models.CharField(max_length=200, unique=True)
    url = models.URLField(help_text="The witness's submission prefix; the log POSTs to <url>/add-checkpoint.")
    vkey = models.CharField(max_length=300, help_text="The witness's cosignature verifier key (type 0x04).")
    cosigned_size = models.BigIntegerField(default=0, help_text="The latest size this witness cosigned.")
    last_error = models.TextField(blank=True, default="")
    last_contact_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"witness {self.name}"


class Cosignature(models.Model):
    """A witness's cosignature line on one of this log's checkpoints."""

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.CASCADE, related_name="cosignatures")
    witness_name = models.CharField(max_length=200)
    line = models.TextField()
    cosigned_at = models.DateTimeField()

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("checkpoint", "witness_name"), name="ledger_cosignature_once"),
        )

    def __str__(self) -> str:
        return f"{self.witness_name} on checkpoint {self.checkpoint_id}"


class WitnessedLog(models.Model):
    """Another log this node witnesses: its verifier key and the latest checkpoint cosigned for it."""

    origin = models.CharField(max_length=200, unique=True)
    vkey = models.CharField(max_length=300)
    size = models.BigIntegerField(default=0)
    root_hash = models.BinaryField(default=b"")
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"witnessed log {self.origin} at {self.size}"
