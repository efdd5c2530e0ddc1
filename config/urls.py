from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from core.views import favicon, healthz
from dashboards.views import role_home

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    # The home page is each role's morning page, which `dashboards` composes; core stays below it.
    path("", include(([path("", role_home, name="home")], "core"))),
    path("customers/", include("receivables.urls")),
    path("contracts/", include("contracts.urls")),
    path("dunning/", include("dunning.urls")),
    path("dashboard/", include("dashboards.urls")),
    path("statements/", include("statements.urls")),
    path("webhooks/anymail/", include("statements.webhooks")),
    path("", include("portal.urls")),
    path("integrations/", include("integrations.urls")),
    path("banking/", include("banking.urls")),
    path("bills/", include("bills.urls")),
    path("api/", include("api.urls")),
]
