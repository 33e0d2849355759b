from django.contrib.auth import views as auth_views
from django.urls import path

from postroom.backoffice import views
from postroom.backoffice.forms import LoginForm

app_name = "backoffice"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("setup/", views.setup, name="setup"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="backoffice/login.html",
            authentication_form=LoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/", views.settings_page, name="settings"),
    path("healthz", views.healthz, name="healthz"),
]
