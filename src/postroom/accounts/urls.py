from django.contrib.auth import views as auth_views
from django.urls import path

from postroom.accounts.views import account, invitations, password, preview, signin, users

app_name = "accounts"

urlpatterns = [
    # Signing in, and the first administrator on first run.
    path("setup/", signin.setup, name="setup"),
    path("login/", signin.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Everybody: their own account.
    path("account/", account.account, name="account"),
    path("account/name/", account.change_name, name="account-name"),
    path("account/password/", account.change_password, name="account-password"),
    path("account/sessions/end/", account.sign_out_elsewhere, name="account-sign-out-elsewhere"),
    # Administrators: the Users screen.
    path("users/", users.user_list, name="users"),
    path("users/<int:pk>/", users.user_detail, name="user"),
    path("users/<int:pk>/role/", users.change_role, name="user-role"),
    path("users/<int:pk>/disable/", users.disable, name="user-disable"),
    path("users/<int:pk>/enable/", users.enable, name="user-enable"),
    path("users/<int:pk>/unlock/", users.unlock, name="user-unlock"),
    path("users/<int:pk>/delete/", users.delete, name="user-delete"),
    path("users/invitations/", invitations.invitation_list, name="invitations"),
    path("users/invite/", invitations.invite, name="invite"),
    path("users/invitations/<int:pk>/resend/", invitations.resend, name="invitation-resend"),
    path("users/invitations/<int:pk>/revoke/", invitations.revoke, name="invitation-revoke"),
    path("users/emails/", preview.preview, name="preview"),
    path("users/emails/<str:kind>/html/", preview.preview_html, name="preview-html"),
    # Public: the invitee and the person who forgot their password.
    path("invite/<str:token>/", invitations.accept, name="accept"),
    path("password/forgot/", password.forgot, name="password-reset"),
    path("password/forgot/sent/", password.sent, name="password-reset-sent"),
    path("password/reset/<str:token>/", password.reset, name="password-reset-confirm"),
]
