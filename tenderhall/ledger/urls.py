"""The C2SP tlog-tiles read API under /ledger/, the explorer page, and the tlog-witness endpoint."""

from django.urls import path, re_path

from tenderhall.ledger import views

app_name = "ledger"
urlpatterns = [
    path("ledger/", views.explorer, name="explorer"),
    path("ledger/checkpoint", views.checkpoint, name="checkpoint"),
    re_path(r"^ledger/(?P<tile_path>tile/.+)$", views.tile, name="tile"),
    path("witness/add-checkpoint", views.witness_add_checkpoint, name="witness_add_checkpoint"),
]
