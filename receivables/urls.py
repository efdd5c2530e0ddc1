from django.urls import path

from receivables import views

app_name = "receivables"

urlpatterns = [
    path("", views.customer_list_view, name="customer_list"),
    path("<int:pk>/", views.customer_detail, name="customer_detail"),
]
