from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "tenderhall.evaluation"
    label = "evaluation"
    verbose_name = "Evaluation and award"

    def ready(self) -> None:
        from tenderhall.evaluation import ledger_sources

        ledger_sources.register()
