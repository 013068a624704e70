"""URLs served on every host: sign-in, two-factor, language, health."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal.views import auth, system

urlpatterns = [
    path("accounts/login/", auth.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/", auth.two_factor, name="two-factor"),
    path("accounts/2fa/setup/", auth.two_factor_setup, name="two-factor-setup"),
    path("accounts/", auth.account, name="account"),
    path("accounts/password/change/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/change/done/", auth.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/password/reset/", auth.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", auth.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/password/reset/<uidb64>/<token>/", auth.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/password/reset/complete/", auth.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", system.healthz, name="healthz"),
]
