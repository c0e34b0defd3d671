from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "tenderhall.ledger"
    label = "ledger"
    verbose_name = "Transparency log"
