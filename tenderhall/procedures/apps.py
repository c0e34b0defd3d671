from django.apps import AppConfig


class ProceduresConfig(AppConfig):
    name = "tenderhall.procedures"
    label = "procedures"
    verbose_name = "Tender procedures"

    def ready(self) -> None:
        from tenderhall.procedures.ledger_sources import register

        register()
