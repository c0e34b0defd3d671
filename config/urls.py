from django.urls import include, path

from config.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("tenderhall.accounts.urls")),
    path("registry/", include("tenderhall.registry.urls")),
    path("procedures/", include("tenderhall.procedures.urls")),
    path("bids/", include("tenderhall.bids.urls")),
    path("opening/", include("tenderhall.opening.urls")),
    path("evaluation/", include("tenderhall.evaluation.urls")),
    path("audit/", include("tenderhall.supervision.urls")),
    path("", include("tenderhall.ledger.urls")),  # /ledger/... (C2SP tlog-tiles) and /witness/...
    path("", include("tenderhall.portal.urls")),
]
