from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "tenderhall.evaluation"
    label = "evaluation"
    verbose_name = "Evaluation and award"

    def ready(self) -> None:
        from tenderhall.core.hooks import register_tender_transitioned
        from tenderhall.evaluation import ledger_sources
        from tenderhall.evaluation.seeds import seeds_reveal_on_cancel

        ledger_sources.register()
        register_tender_transitioned(seeds_reveal_on_cancel)  # a terminated tender reveals its seeds
