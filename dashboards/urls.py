from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("my/", views.rep_home, name="rep_home"),
    path("ageing/", views.ageing_invoices, name="ageing_invoices"),
    path("finance/", views.finance_desk_view, name="finance_desk"),
    path("export/", views.export, name="export"),
]
