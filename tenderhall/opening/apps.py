from django.apps import AppConfig


class OpeningConfig(AppConfig):
    name = "tenderhall.opening"
    label = "opening"
    verbose_name = "Bid opening"

    def ready(self) -> None:
        from tenderhall.core.hooks import (
            register_sealing_recipients,
            register_tender_published,
            register_tender_transitioned,
            register_worker_job,
        )
        from tenderhall.ledger.sources import register_leaf_source
        from tenderhall.opening import ledger_sources
        from tenderhall.opening.services import (
            escrow_issue_on_publish,
            escrow_published_source,
            escrow_recipients,
        )
        from tenderhall.opening.sessions import opening_start_on_transition, opening_tick

        register_tender_published(escrow_issue_on_publish)
        register_tender_transitioned(opening_start_on_transition)
        register_worker_job(opening_tick)  # decryption windows close on time
        ledger_sources.register()
        register_leaf_source("opening:escrow:published", escrow_published_source)
        register_sealing_recipients(escrow_recipients)
