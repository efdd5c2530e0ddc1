"""Posting the admin's customer page as a person would: its form as shown, its inlines'
management forms, then the caller's changes."""

from django.urls import reverse

from receivables.models import Customer


def customer_change_data(client, customer: Customer) -> tuple[str, dict]:
    """The customer's admin change URL and the data its page would post unchanged."""
    url = reverse("admin:receivables_customer_change", args=[customer.pk])
    page = client.get(url)
    data = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if value is not None and key not in {"credit_limit", "payment_terms_days"}
    }
    data["sales_rep"] = customer.sales_rep_id
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
    return url, data
