from django.urls import path

from statements import views

app_name = "statements"

urlpatterns = [
    path(
        "customers/<int:customer_pk>/statement/",
        views.statement_download,
        name="statement_download",
    ),
    path(
        "customers/<int:customer_pk>/schedule/",
        views.statement_schedule_edit,
        name="statement_schedule_edit",
    ),
    path("desk/", views.statement_desk, name="statement_desk"),
    path("<int:pk>/retry/", views.statement_retry_view, name="statement_retry"),
]
