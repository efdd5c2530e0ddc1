"""Timeline events, tasks, skipped items and the ladder's credit holds stop carrying
finished sentences: where a row's kind and parameters say everything, its stored
text goes (it is worded in the reader's language when shown); what a person typed
moves to the parameter `note` (shown as typed, attributed); rows this migration
cannot read keep their text as it is.

Runs per chunk of rows, a bounded number of statements each. Reversible only as a
no-op: the old sentences were in one language, and the new rows say the same.
"""

from django.db import migrations

CHUNK = 500

# What `dunning.services.send` used to store as the reason a step left its message.
EXCLUDED_TEXT = {
    "customer paused": "customer_paused",
    "replaced by a supplementary agreement": "replaced_by_agreement",
    "in dispute": "dispute",
    "promised": "promise",
    "paid": "paid",
    "below tolerance": "below_tolerance",
}

FOLLOW_UP_DETAILS = (
    "The customer reported an internal delay (forgotten, approval, paperwork). "
    "Check the payment was released; the reminders go on meanwhile."
)


def _chunks(queryset):
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk")[:CHUNK])
        if not rows:
            return
        yield rows
        last = rows[-1].pk


def _labels(apps, communication_ids):
    """Item labels of the messages' steps still in them, as `DunningStep.item_label` says."""
    step_model = apps.get_model("dunning", "DunningStep")
    labels: dict[int, list[str]] = {}
    excluded: dict[int, list[list[str]]] = {}
    steps = (
        step_model.objects.filter(communication_id__in=communication_ids)
        .select_related("invoice", "instalment__agreement")
        .order_by("due_date", "pk")
    )
    agreements = {}
    for step in steps:
        if step.invoice_id:
            label = step.invoice.number
        else:
            agreement = step.instalment.agreement
            if agreement.pk not in agreements:
                first = agreement.invoices.order_by("due_date", "number").first()
                agreements[agreement.pk] = first.number if first else agreement.number
            label = f"{agreements[agreement.pk]}#{step.instalment.sequence}"
        if step.excluded_reason:
            code = EXCLUDED_TEXT.get(step.excluded_reason, step.excluded_reason)
            excluded.setdefault(step.communication_id, []).append([label, code])
        else:
            labels.setdefault(step.communication_id, []).append(label)
    return labels, excluded


def _steps(apps, schema_editor):
    step_model = apps.get_model("dunning", "DunningStep")
    for text, code in EXCLUDED_TEXT.items():
        step_model.objects.filter(excluded_reason=text).update(excluded_reason=code)


def _task_params(task, labels, communication):
    customer = task.customer.name
    items = labels.get(task.communication_id, [])
    kind = task.kind
    if kind == "call" and communication is not None:
        if communication.failure_reason == "missing_address":
            return {
                "what": "no_email",
                "details": "no_email",
                "customer": customer,
                "items": items,
                "level": communication.level,
                "contact": "executive" if "executive_email" in communication.channels else "finance",
                "letter": bool(communication.letter_pdf),
            }
        return {"what": "call", "customer": customer, "items": items}
    if kind == "manager_escalation":
        return {"what": "escalate", "customer": customer, "items": items}
    if kind == "legal_referral":
        return {"what": "legal", "customer": customer, "items": items}
    if kind == "follow_up":
        if communication is not None and communication.letter_pdf:
            return {"what": "print_letter", "customer": customer}
        if communication is None and task.details in (FOLLOW_UP_DETAILS, ""):
            return {"what": "follow_up", "details": "follow_up", "customer": customer}
        if communication is None:
            return {"what": "call_again", "customer": customer}
    if kind == "promise_due":
        return {"what": "promise_broken", "customer": customer}
    return None


def _tasks(apps, schema_editor):
    task_model = apps.get_model("dunning", "CollectionTask")
    communication_model = apps.get_model("dunning", "Communication")
    queryset = task_model.objects.filter(params={}).select_related("customer")
    for rows in _chunks(queryset):
        ids = {row.communication_id for row in rows if row.communication_id}
        communications = communication_model.objects.in_bulk(ids)
        labels, _excluded = _labels(apps, ids)
        changed = []
        for task in rows:
            params = _task_params(task, labels, communications.get(task.communication_id))
            if params is None:
                continue
            task.params = params
            task.title = ""
            if params.get("details") in ("no_email", "follow_up"):
                task.details = ""  # the system's sentence; a typed note (call again) stays
            changed.append(task)
        task_model.objects.bulk_update(changed, ["params", "title", "details"])


def _event_data(event, data, *, related):
    """New parameters for one legacy event, or None when its text must stay."""
    kind = event.kind
    communication = related["communications"].get(data.get("communication"))
    if communication is not None:
        data.setdefault("level", communication.level)
    if kind in ("case_opened", "case_closed"):
        return data if ("as_of" in data or "reason" in data) else None
    if kind in ("case_updated", "contact_attempt", "communication_queued", "dunning_resumed"):
        return data
    if kind in ("communication_approved", "communication_failed", "communication_retried"):
        return data if communication is not None else None
    if kind == "communication_handled":
        data.setdefault("note", event.text)
        return data if communication is not None else None
    if kind == "communication_sent":
        if communication is None:
            return None
        data.setdefault("items", related["labels"].get(communication.pk, []))
        if communication.channels and set(communication.channels) & {
            "email",
            "executive_email",
            "letter",
        }:
            data.setdefault("recipient", communication.recipient_email)
            data.setdefault("letter", "letter" in communication.channels)
        return data
    if kind == "communication_cancelled":
        if communication is None:
            return data if "reason" in data else None
        if communication.failure_reason == "rejected":
            data.update(refused=True, note=communication.failure_detail)
            return data
        if "reason" in data:
            return data
        data.setdefault("excluded", related["excluded"].get(communication.pk, []))
        return data
    if kind == "note":
        if "dropped" in data:
            return data if communication is not None else None
        if event.text and "note" not in data:
            data["note"] = event.text
        return data
    if kind in ("task_created", "task_completed", "task_closed", "task_reopened"):
        task = related["tasks"].get(data.get("task"))
        if task is None or not task.params:
            return None
        data["task_params"] = task.params
        return data
    if kind in ("credit_hold", "credit_hold_released"):
        return data
    if kind in ("dispute_opened", "dispute_resolved"):
        dispute = related["disputes"].get(data.get("dispute"))
        if dispute is None:
            return None
        if kind == "dispute_opened":
            data.setdefault("invoices", [])
            data["note"] = dispute.reason
        else:
            data["note"] = dispute.resolution_note
        return data
    if kind in ("promise_made", "promise_kept", "promise_broken"):
        promise = related["promises"].get(data.get("promise"))
        if promise is None:
            return None
        data.update(
            currency=promise.currency,
            amount=str(promise.amount),
            date=promise.promised_date.isoformat(),
        )
        if kind == "promise_made":
            data["note"] = promise.note
        return data
    if kind in ("agreement_proposed", "agreement_approved", "agreement_rejected"):
        agreement = related["agreements"].get(data.get("agreement"))
        if agreement is None:
            return None
        invoices = list(agreement.invoices.order_by("due_date", "number"))
        instalments = list(agreement.instalments.order_by("sequence"))
        data.update(
            agreement_kind=agreement.kind,
            number=agreement.number,
            invoices=[invoice.number for invoice in invoices],
            currency=invoices[0].currency if invoices else "",
        )
        if kind == "agreement_proposed":
            data.update(
                count=len(instalments),
                owed=str(sum((item.amount for item in instalments), 0)),
            )
        elif kind == "agreement_approved":
            data.update(
                contract=agreement.contract.number if agreement.contract_id else "",
                schedule=[[item.due_date.isoformat(), str(item.amount)] for item in instalments],
                note=data.pop("comment", "") or agreement.decision_comment,
            )
        else:
            data["note"] = agreement.decision_comment
        return data
    if kind == "dunning_paused":
        if "until" not in data:
            return None
        data["note"] = data.pop("reason", "")
        return data
    if kind == "thank_you_sent":
        return data if "number" in data and "recipient" in data else None
    return None


def _events(apps, schema_editor):
    event_model = apps.get_model("dunning", "CaseEvent")
    communication_model = apps.get_model("dunning", "Communication")
    task_model = apps.get_model("dunning", "CollectionTask")
    dispute_model = apps.get_model("dunning", "Dispute")
    promise_model = apps.get_model("dunning", "PromiseToPay")
    agreement_model = apps.get_model("contracts", "SupplementaryAgreement")
    for rows in _chunks(event_model.objects.exclude(text="")):
        datas = {row.pk: dict(row.data) if isinstance(row.data, dict) else {} for row in rows}

        def ids(key, datas=datas):
            return {data[key] for data in datas.values() if isinstance(data.get(key), int)}

        communication_ids = ids("communication")
        labels, excluded = _labels(apps, communication_ids)
        related = {
            "communications": communication_model.objects.in_bulk(communication_ids),
            "tasks": task_model.objects.in_bulk(ids("task")),
            "disputes": dispute_model.objects.in_bulk(ids("dispute")),
            "promises": promise_model.objects.in_bulk(ids("promise")),
            "agreements": agreement_model.objects.select_related("contract").in_bulk(
                ids("agreement")
            ),
            "labels": labels,
            "excluded": excluded,
        }
        changed = []
        for event in rows:
            data = _event_data(event, datas[event.pk], related=related)
            if data is None:
                continue
            event.data = data
            event.text = ""
            changed.append(event)
        event_model.objects.bulk_update(changed, ["data", "text"])


def _holds(apps, schema_editor):
    hold_model = apps.get_model("receivables", "CreditHoldEvent")
    queryset = hold_model.objects.filter(source="dunning", action="hold")
    for rows in _chunks(queryset):
        changed = []
        for hold in rows:
            text = hold.reason
            if text.startswith(("Legal referral by the dunning ladder", "催收阶梯移交法务")):
                items = text.replace("：", ":").partition(":")[2].replace("、", ", ").strip()
                hold.reason = f"legal_referral\n{items}" if items else "legal_referral"
                changed.append(hold)
        hold_model.objects.bulk_update(changed, ["reason"])


def _failure_details(apps, schema_editor):
    """A missing address was also written out as a sentence; its reason says it all."""
    communication_model = apps.get_model("dunning", "Communication")
    communication_model.objects.filter(
        failure_reason="missing_address",
        failure_detail__in=["No contact email address on file.", "没有登记联系人邮箱。"],
    ).update(failure_detail="")


def forwards(apps, schema_editor):
    _steps(apps, schema_editor)
    _failure_details(apps, schema_editor)
    _tasks(apps, schema_editor)
    _events(apps, schema_editor)
    _holds(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("dunning", "0007_new_features"),
        ("receivables", "0008_new_features"),
        ("contracts", "0003_late_fee_cap_label"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
