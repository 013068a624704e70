"""URLs served on every host: sign-in, two-factor, language, health."""
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal.views import auth, system

urlpatterns = [
    path("accounts/login/", auth.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/", auth.two_factor, name="two-factor"),
    path("accounts/2fa/setup/", auth.two_factor_setup, name="two-factor-setup"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", system.healthz, name="healthz"),
]
