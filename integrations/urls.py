from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("webhooks/", views.webhook_list, name="webhook_list"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/toggle/", views.webhook_toggle, name="webhook_toggle"),
    path("webhooks/<int:pk>/rotate/", views.webhook_rotate, name="webhook_rotate"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/replay/",
        views.webhook_replay,
        name="webhook_replay",
    ),
    path("robots/", views.robot_list, name="robot_list"),
    path("robots/<int:pk>/", views.robot_detail, name="robot_detail"),
    path("robots/<int:pk>/toggle/", views.robot_toggle, name="robot_toggle"),
    path("robots/<int:pk>/test/", views.robot_test, name="robot_test"),
]
