from django.urls import path

from receivables.views import customers

app_name = "receivables"

urlpatterns = [
    path("", customers.customer_list_view, name="customer_list"),
    path("<int:pk>/", customers.customer_detail, name="customer_detail"),
]
