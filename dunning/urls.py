from django.urls import path

from dunning.views import cases, letters, reviews

app_name = "dunning"

urlpatterns = [
    path("cases/", cases.case_list, name="case_list"),
    path("cases/<int:pk>/", cases.case_detail, name="case_detail"),
    path("cases/<int:pk>/reason/", cases.case_set_reason, name="case_set_reason"),
    path("cases/<int:pk>/call/", cases.case_log_call, name="case_log_call"),
    path("tasks/<int:pk>/done/", cases.task_complete, name="task_complete"),
    path("customers/<int:customer_pk>/promise/", cases.promise_create, name="promise_create"),
    path("customers/<int:customer_pk>/dispute/", cases.dispute_create, name="dispute_create"),
    path(
        "customers/<int:customer_pk>/agreement/",
        cases.agreement_propose_view,
        name="agreement_propose",
    ),
    path("customers/<int:customer_pk>/pause/", cases.customer_pause, name="customer_pause"),
    path("customers/<int:customer_pk>/resume/", cases.customer_resume, name="customer_resume"),
    path("agreements/", reviews.agreement_queue, name="agreement_queue"),
    path("agreements/<int:pk>/", reviews.agreement_detail, name="agreement_detail"),
    path("agreements/<int:pk>/approve/", reviews.agreement_approve_view, name="agreement_approve"),
    path("agreements/<int:pk>/reject/", reviews.agreement_reject_view, name="agreement_reject"),
    path("disputes/", reviews.dispute_list, name="dispute_list"),
    path("disputes/<int:pk>/", reviews.dispute_detail, name="dispute_detail"),
    path("disputes/<int:pk>/accept/", reviews.dispute_accept, name="dispute_accept"),
    path("disputes/<int:pk>/reject/", reviews.dispute_reject_view, name="dispute_reject"),
    path("letters/", letters.letter_queue, name="letter_queue"),
    path("messages/<int:pk>/", letters.communication_detail, name="communication_detail"),
    path(
        "messages/<int:pk>/preview.pdf",
        letters.communication_preview,
        name="communication_preview",
    ),
    path("messages/<int:pk>/letter.pdf", letters.communication_pdf, name="communication_pdf"),
    path(
        "messages/<int:pk>/approve/",
        letters.communication_approve_view,
        name="communication_approve",
    ),
    path(
        "messages/<int:pk>/reject/", letters.communication_reject_view, name="communication_reject"
    ),
]
