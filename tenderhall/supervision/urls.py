from django.urls import path

from tenderhall.supervision import views

app_name = "supervision"
urlpatterns = [
    path("", views.audit_view, name="audit"),
    path("alerts/", views.alerts_view, name="alerts"),
]
