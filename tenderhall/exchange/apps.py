from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "tenderhall.exchange"
    label = "exchange"
    verbose_name = "Open data and exchange"

    def ready(self) -> None:
        from tenderhall.exchange import checks  # noqa: F401  # registers the system checks
