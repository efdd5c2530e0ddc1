from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.scoping import get_in_scope_or_404
from receivables.models import Customer
from receivables.selectors.customers import customer_list


def customer_list_view(request: HttpRequest) -> HttpResponse:
    return render(
        request, "receivables/customer_list.html", {"customers": customer_list(user=request.user)}
    )


def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_in_scope_or_404(
        Customer.objects.select_related("sales_rep"), request.user, pk=pk
    )
    return render(
        request,
        "receivables/customer_detail.html",
        {"customer": customer, "contacts": customer.contacts.all()},
    )
