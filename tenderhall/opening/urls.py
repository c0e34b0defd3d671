from django.urls import path

from tenderhall.opening import views

app_name = "opening"
urlpatterns = [
    path("tenders/<int:tender_id>/hall/", views.hall_view, name="hall"),
    path("tenders/<int:tender_id>/hall/events", views.hall_events, name="hall_events"),
]
