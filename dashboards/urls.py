from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("my/", views.rep_home, name="rep_home"),
    path("ageing/", views.ageing_invoices, name="ageing_invoices"),
    path("finance/", views.finance_desk_view, name="finance_desk"),
    path(
        "finance/messages/<int:pk>/retry/",
        views.communication_retry_view,
        name="communication_retry",
    ),
    path(
        "finance/messages/<int:pk>/send-now/",
        views.communication_send_now_view,
        name="communication_send_now",
    ),
    path(
        "finance/messages/<int:pk>/handled/",
        views.communication_handled_view,
        name="communication_handled",
    ),
    path("export/", views.export, name="export"),
]
