from django.apps import AppConfig


class BidsConfig(AppConfig):
    name = "tenderhall.bids"
    label = "bids"
    verbose_name = "Sealed bids"

    def ready(self) -> None:
        from tenderhall.bids.ledger_sources import register

        register()
