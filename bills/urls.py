from django.urls import path

from bills import views

app_name = "bills"

urlpatterns = [
    path("", views.bill_list_view, name="bill_list"),
    path("new/", views.bill_receive_view, name="bill_receive"),
    path("<int:pk>/", views.bill_detail, name="bill_detail"),
    path("<int:pk>/endorse/", views.bill_endorse_view, name="bill_endorse"),
    path("<int:pk>/discount/", views.bill_discount_view, name="bill_discount"),
    path("<int:pk>/collect/", views.bill_collect_view, name="bill_collect"),
    path("<int:pk>/dishonour/", views.bill_dishonour_view, name="bill_dishonour"),
]
