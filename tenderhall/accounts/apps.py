from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tenderhall.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from tenderhall.accounts.ledger_sources import register

        register()
