from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tenderhall.accounts"
    label = "accounts"
    verbose_name = "Accounts"
