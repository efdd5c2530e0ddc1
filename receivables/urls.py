from django.urls import path

from receivables.views import credit, customers

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
]
