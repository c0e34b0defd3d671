from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "tenderhall.supervision"
    label = "supervision"
    verbose_name = "Supervision"
