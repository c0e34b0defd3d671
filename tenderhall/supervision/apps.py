from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "tenderhall.supervision"
    label = "supervision"
    verbose_name = "Supervision"

    def ready(self) -> None:
        from tenderhall.accounts.clients import client_windows_prune
        from tenderhall.core.hooks import register_alert_raised, register_worker_job
        from tenderhall.supervision import feed_sources
        from tenderhall.supervision.alerts import alert_record
        from tenderhall.supervision.webhooks import webhooks_deliver_due

        feed_sources.register()  # the entity types of the change feed
        register_alert_raised(alert_record)  # accounts raises transmission alerts in its transactions
        register_worker_job(webhooks_deliver_due)  # the worker delivers due webhooks on every tick
        register_worker_job(client_windows_prune)  # and drops API clients' request counters of past windows
