from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "tenderhall.portal"
    label = "portal"
    verbose_name = "Public portal"
