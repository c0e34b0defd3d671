from django.urls import path

from tenderhall.bids import views

app_name = "bids"
urlpatterns = [
    path("lots/<int:lot_id>/seal/", views.bid_seal_view, name="seal"),
]
