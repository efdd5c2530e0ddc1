from django.urls import path

from receivables.views import credit, customers, imports, invoices, payments

app_name = "receivables"

urlpatterns = [
    path("", customers.customer_list_view, name="customer_list"),
    path("<int:pk>/", customers.customer_detail, name="customer_detail"),
    # Customers, contacts and credit (customer master and credit issue).
    path("new/", customers.customer_create_view, name="customer_create"),
    path("<int:pk>/edit/", customers.customer_update_view, name="customer_update"),
    path("<int:customer_pk>/contacts/new/", customers.contact_create_view, name="contact_create"),
    path(
        "<int:customer_pk>/contacts/<int:pk>/edit/",
        customers.contact_update_view,
        name="contact_update",
    ),
    path(
        "<int:customer_pk>/contacts/<int:pk>/delete/",
        customers.contact_delete_view,
        name="contact_delete",
    ),
    path("<int:pk>/hold/", credit.customer_hold_view, name="customer_hold"),
    path("<int:pk>/release/", credit.customer_release_view, name="customer_release"),
    path(
        "<int:customer_pk>/assessments/new/",
        credit.credit_assessment_create_view,
        name="credit_assessment_create",
    ),
    path("assessments/", credit.credit_assessment_queue, name="credit_assessment_queue"),
    path("assessments/<int:pk>/", credit.credit_assessment_detail, name="credit_assessment_detail"),
    path(
        "assessments/<int:pk>/edit/",
        credit.credit_assessment_update_view,
        name="credit_assessment_update",
    ),
    path(
        "assessments/<int:pk>/submit/",
        credit.credit_assessment_submit_view,
        name="credit_assessment_submit",
    ),
    path(
        "assessments/<int:pk>/approve/",
        credit.credit_assessment_approve_view,
        name="credit_assessment_approve",
    ),
    path(
        "assessments/<int:pk>/reject/",
        credit.credit_assessment_reject_view,
        name="credit_assessment_reject",
    ),
    # Invoices, payments and imports.
    path("invoices/", invoices.invoice_list_view, name="invoice_list"),
    path("invoices/new/", invoices.invoice_create_view, name="invoice_create"),
    path("invoices/<int:pk>/", invoices.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/deliver/", invoices.invoice_deliver_view, name="invoice_deliver"),
    path(
        "invoices/<int:pk>/confirm-receipt/",
        invoices.invoice_confirm_receipt_view,
        name="invoice_confirm_receipt",
    ),
    path("invoices/<int:pk>/cancel/", invoices.invoice_cancel_view, name="invoice_cancel"),
    path(
        "invoices/<int:pk>/credit-notes/new/",
        invoices.credit_note_create_view,
        name="credit_note_create",
    ),
    path("payments/", payments.payment_list_view, name="payment_list"),
    path("payments/new/", payments.payment_create_view, name="payment_create"),
    path("payments/<int:pk>/", payments.payment_detail, name="payment_detail"),
    path("payments/<int:pk>/reverse/", payments.payment_reverse_view, name="payment_reverse"),
    path(
        "payments/<int:pk>/apply-credit/",
        payments.payment_apply_credit_view,
        name="payment_apply_credit",
    ),
    path("import/", imports.receivables_import_view, name="receivables_import"),
]
