from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("p/<str:token>/", views.page, name="page"),
    path("p/<str:token>/confirm/", views.confirm, name="confirm"),
    path("p/<str:token>/dispute/", views.dispute, name="dispute"),
    path("p/<str:token>/promise/", views.promise, name="promise"),
    path("p/<str:token>/request/", views.document_request, name="request"),
    path("p/<str:token>/proofs/<int:pk>/", views.proof, name="proof"),
    path("p/<str:token>/letters/<int:pk>/", views.letter, name="letter"),
    path("p/<str:token>/statements/<int:pk>/", views.statement_pdf, name="statement_pdf"),
    path(
        "p/<str:token>/confirmations/<int:pk>/",
        views.confirmation_pdf,
        name="confirmation_pdf",
    ),
    path("portal/customers/<int:customer_pk>/links/", views.link_list, name="link_list"),
    path("portal/customers/<int:customer_pk>/links/new/", views.link_create, name="link_create"),
    path("portal/links/<int:pk>/revoke/", views.link_revoke, name="link_revoke"),
    path("portal/confirmations/", views.confirmation_desk, name="confirmation_desk"),
    path(
        "portal/dispute-attachments/<int:pk>/",
        views.portal_dispute_attachment,
        name="portal_dispute_attachment",
    ),
]
