from django.urls import path

from tenderhall.procedures import views

app_name = "procedures"
urlpatterns = [
    path("", views.project_list_view, name="project_list"),
    path("projects/<int:project_id>/", views.project_detail_view, name="project_detail"),
    path("tenders/<int:tender_id>/manage/", views.tender_manage_view, name="tender_manage"),
    path("tenders/<int:tender_id>/lots", views.lot_add_view, name="lot_add"),
    path("tenders/<int:tender_id>/timeline", views.tender_schedule_view, name="tender_schedule"),
    path("tenders/<int:tender_id>/publish", views.tender_publish_view, name="tender_publish"),
    path("tenders/<int:tender_id>/cancel", views.tender_cancel_view, name="tender_cancel"),
    path("tenders/<int:tender_id>/documents", views.document_upload_view, name="document_upload"),
    path("tenders/<int:tender_id>/questions", views.question_ask_view, name="question_ask"),
    path("tenders/<int:tender_id>/objections", views.objection_raise_view, name="objection_raise"),
    path("notifications/", views.notifications_view, name="notifications"),
    path(
        "tenders/<int:tender_id>/objections/<int:objection_id>/answer",
        views.objection_answer_view,
        name="objection_answer",
    ),
    path("complaints/", views.complaint_list_view, name="complaint_list"),
    path("complaints/<int:complaint_id>/", views.complaint_handle_view, name="complaint_handle"),
    path(
        "tenders/<int:tender_id>/clarifications",
        views.clarification_publish_view,
        name="clarification_publish",
    ),
]
