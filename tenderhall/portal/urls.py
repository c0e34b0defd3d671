from django.urls import path

from tenderhall.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home_view, name="home"),
    path("notices/", views.notice_list_view, name="notice_list"),
    path("notices/<int:notice_id>/", views.notice_detail_view, name="notice_detail"),
    path("tenders/<int:tender_id>/", views.tender_public_view, name="tender_detail"),
]
