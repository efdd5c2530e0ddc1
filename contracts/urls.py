from django.urls import path

from contracts import views

app_name = "contracts"

urlpatterns = [
    path("", views.contract_list_view, name="contract_list"),
    path("new/", views.contract_create_view, name="contract_create"),
    path("<int:pk>/", views.contract_detail, name="contract_detail"),
    path("<int:pk>/edit/", views.contract_update_view, name="contract_update"),
    path("<int:pk>/submit/", views.contract_submit_view, name="contract_submit"),
    path("<int:pk>/review/", views.contract_review_view, name="contract_review"),
    path("<int:pk>/terms/", views.contract_terms_approve_view, name="contract_terms_approve"),
    path("<int:pk>/activate/", views.contract_activate_view, name="contract_activate"),
    path("<int:pk>/close/", views.contract_close_view, name="contract_close"),
    path(
        "<int:pk>/deliveries/new/",
        views.delivery_record_create_view,
        name="delivery_record_create",
    ),
    path("proofs/<int:pk>/", views.delivery_record_proof, name="delivery_record_proof"),
    path(
        "milestones/<int:pk>/invoice/",
        views.milestone_invoice_issue_view,
        name="milestone_invoice_issue",
    ),
    path("milestones/<int:pk>/trigger/", views.milestone_trigger_view, name="milestone_trigger"),
]
