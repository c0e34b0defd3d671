from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tenderhall.core"
    label = "core"
    verbose_name = "Shared kernel"
