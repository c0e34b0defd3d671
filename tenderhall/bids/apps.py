from django.apps import AppConfig


class BidsConfig(AppConfig):
    name = "tenderhall.bids"
    label = "bids"
    verbose_name = "Sealed bids"

    def ready(self) -> None:
        from tenderhall.bids.ledger_sources import register
        from tenderhall.bids.selectors import tender_bid_count
        from tenderhall.core.hooks import register_bid_counter

        register()
        register_bid_counter(tender_bid_count)
