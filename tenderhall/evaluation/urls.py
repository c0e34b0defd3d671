from django.urls import path

from tenderhall.evaluation import views

app_name = "evaluation"
urlpatterns = [
    path("", views.evaluation_list_view, name="list"),
    path("<int:evaluation_id>/", views.evaluation_view, name="evaluation"),
    path("<int:evaluation_id>/declaration.txt", views.declaration_download_view, name="declaration"),
    path("<int:evaluation_id>/declare", views.declare_view, name="declare"),
    path("<int:evaluation_id>/decline", views.decline_view, name="decline"),
    path("<int:evaluation_id>/scores", views.scores_view, name="scores"),
    path("<int:evaluation_id>/submit", views.submit_view, name="submit"),
    path("<int:evaluation_id>/conclude", views.conclude_view, name="conclude"),
    path("<int:evaluation_id>/tie-draw", views.tie_draw_view, name="tie_draw"),
    path("<int:evaluation_id>/report", views.report_view, name="report"),
    path("<int:evaluation_id>/candidates", views.candidates_view, name="candidates"),
    path("<int:evaluation_id>/award", views.award_view, name="award"),
    path("<int:evaluation_id>/report.pdf", views.report_download_view, name="report_download"),
    path("<int:evaluation_id>/report/sign", views.report_sign_view, name="report_sign"),
    path("clarifications/", views.clarification_list_view, name="clarifications"),
    path(
        "clarifications/<int:clarification_id>/answer",
        views.clarification_answer_view,
        name="clarification_answer",
    ),
]
