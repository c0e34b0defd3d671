from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "tenderhall.registry"
    label = "registry"
    verbose_name = "Market-entity registry"

    def ready(self) -> None:
        from tenderhall.registry.ledger_sources import register

        register()
