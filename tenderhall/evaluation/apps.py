from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "tenderhall.evaluation"
    label = "evaluation"
    verbose_name = "Evaluation and award"
