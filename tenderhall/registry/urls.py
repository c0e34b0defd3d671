from django.urls import path

from tenderhall.registry import views

app_name = "registry"
urlpatterns = [
    path("", views.entity_list_view, name="entity_list"),
    path("register/", views.entity_register_view, name="entity_register"),
    path("register/check", views.entity_field_check_view, name="entity_field_check"),
    path("review/", views.review_queue_view, name="review_queue"),
    path("<int:entity_id>/", views.entity_detail_view, name="entity_detail"),
    path("<int:entity_id>/approve", views.entity_approve_view, name="entity_approve"),
    path("<int:entity_id>/reject", views.entity_reject_view, name="entity_reject"),
    path("<int:entity_id>/resubmit", views.entity_resubmit_view, name="entity_resubmit"),
    path(
        "<int:entity_id>/certificates", views.entity_certificate_upload_view, name="entity_certificate_upload"
    ),
]
