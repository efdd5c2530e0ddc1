from django.urls import path

from banking import views

app_name = "banking"

urlpatterns = [
    path("accounts/", views.bank_account_list_view, name="bank_account_list"),
    path("statements/upload/", views.statement_upload_view, name="statement_upload"),
    path("receipts/", views.receipt_queue_view, name="receipt_queue"),
    path("receipts/<int:pk>/apply/", views.receipt_apply_view, name="receipt_apply"),
    path("receipts/<int:pk>/reassign/", views.receipt_reassign_view, name="receipt_reassign"),
    path("receipts/<int:pk>/split/", views.receipt_split_view, name="receipt_split"),
    path("receipts/<int:pk>/dismiss/", views.receipt_dismiss_view, name="receipt_dismiss"),
    path("claims/", views.claim_list_view, name="claim_list"),
    path("claims/receipts/<int:pk>/", views.claim_create_view, name="claim_create"),
    path("claims/<int:pk>/decide/", views.claim_decide_view, name="claim_decide"),
]
