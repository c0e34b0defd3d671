from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "tenderhall.portal"
    label = "portal"
    verbose_name = "Public portal"

    def ready(self) -> None:
        from tenderhall.core.hooks import register_notice_published
        from tenderhall.portal.search import notice_index

        # procedures announces each publication (it may not import the portal); the entry is written in the
        # publishing transaction, so a published notice is searchable as soon as it is visible.
        register_notice_published(notice_index)
