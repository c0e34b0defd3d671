from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "tenderhall.exchange"
    label = "exchange"
    verbose_name = "Open data and exchange"
