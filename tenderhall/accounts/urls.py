from django.urls import path

from tenderhall.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/verify", views.login_verify_view, name="login_verify"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register_view, name="register"),
    path("2fa/setup/", views.totp_setup_view, name="totp_setup"),
    path("me/", views.profile_view, name="profile"),
    path("me/certificates/", views.certificate_upload_view, name="certificate_upload"),
    path("me/tokens/", views.token_create_view, name="token_create"),
    path("me/tokens/<int:token_id>/revoke", views.token_revoke_view, name="token_revoke"),
]
