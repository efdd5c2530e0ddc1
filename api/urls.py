"""The REST API under /api/v1/, its OpenAPI schema, Swagger UI, and the token page.

Routes are written out with `path()` and `<int:pk>` (not a router's regexes),
so the project-wide URL scoping walk covers every one of them.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views import cash, contracts, dunning, receivables, tokens

app_name = "api"

LIST = {"get": "list"}
LIST_CREATE = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve"}


def resource(prefix: str, name: str, viewset, *, create: bool = False, actions=()) -> list:
    """The list (and create) and detail routes of a viewset, plus its POST/GET actions."""
    routes = [
        path(
            f"v1/{prefix}/", viewset.as_view(LIST_CREATE if create else LIST), name=f"{name}_list"
        ),
        path(f"v1/{prefix}/<int:pk>/", viewset.as_view(DETAIL), name=f"{name}_detail"),
    ]
    for method, verb in actions:
        routes.append(
            path(
                f"v1/{prefix}/<int:pk>/{verb}/",
                viewset.as_view({method: verb}),
                name=f"{name}_{verb}",
            )
        )
    return routes


urlpatterns = [
    *resource("customers", "customer", receivables.CustomerViewSet, create=True),
    *resource(
        "invoices",
        "invoice",
        receivables.InvoiceViewSet,
        create=True,
        actions=[("post", "cancel")],
    ),
    *resource(
        "payments",
        "payment",
        receivables.PaymentViewSet,
        create=True,
        actions=[("post", "reverse")],
    ),
    *resource("credit-notes", "credit_note", receivables.CreditNoteViewSet, create=True),
    *resource("contracts", "contract", contracts.ContractViewSet),
    *resource("milestones", "milestone", contracts.MilestoneViewSet),
    *resource("cases", "case", dunning.CollectionCaseViewSet),
    *resource("messages", "message", dunning.MessageViewSet, actions=[("get", "letter")]),
    *resource("promises", "promise", dunning.PromiseViewSet, create=True),
    *resource("disputes", "dispute", dunning.DisputeViewSet, create=True),
    *resource("bank-receipts", "bank_receipt", cash.BankReceiptViewSet),
    *resource("acceptance-bills", "acceptance_bill", cash.AcceptanceBillViewSet),
    path("v1/ageing/", receivables.AgeingView.as_view(), name="ageing"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("tokens/", tokens.token_list_view, name="token_list"),
]
