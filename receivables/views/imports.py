"""The finance upload page for CSV imports: the same service and messages as the command."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from receivables.forms.imports import ImportForm
from receivables.imports import MAX_BYTES, receivables_import
from receivables.views.invoices import require_finance

# Enough to fix a file; the count says how many more there are.
SHOWN_ERRORS = 500


@require_http_methods(["GET", "POST"])
def receivables_import_view(request: HttpRequest) -> HttpResponse:
    require_finance(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = receivables_import(
            invoices_file=form.cleaned_data["invoices_file"],
            payments_file=form.cleaned_data["payments_file"],
            dry_run=form.cleaned_data["dry_run"],
            actor=request.user,
        )
    return render(
        request,
        "receivables/import_form.html",
        {
            "form": form,
            "result": result,
            "errors": [str(error) for error in result.errors[:SHOWN_ERRORS]] if result else [],
            "hidden_errors": max(0, len(result.errors) - SHOWN_ERRORS) if result else 0,
            "max_bytes": MAX_BYTES,
        },
        status=400 if result is not None and not result.ok else 200,
    )
