from django.apps import AppConfig


class ProceduresConfig(AppConfig):
    name = "tenderhall.procedures"
    label = "procedures"
    verbose_name = "Tender procedures"
