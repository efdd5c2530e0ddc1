"""Timeline kinds of what a customer's contact does on the portal (choices only)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('dunning', '0006_delivery_leases_and_undelivered'),
    ]

    operations = [
        migrations.AlterField(
            model_name='caseevent',
            name='kind',
            field=models.CharField(choices=[('case_opened', 'Case opened'), ('case_closed', 'Case closed'), ('case_updated', 'Case updated'), ('communication_queued', 'Message prepared'), ('communication_approved', 'Message approved'), ('communication_sent', 'Message sent'), ('communication_failed', 'Message failed'), ('communication_cancelled', 'Message cancelled'), ('communication_retried', 'Message sent again'), ('communication_handled', 'Message handled by phone'), ('task_created', 'Task created'), ('task_completed', 'Task completed'), ('task_closed', 'Task closed'), ('task_reopened', 'Task reopened'), ('case_reopened', 'Case reopened'), ('credit_hold_released', 'Credit hold lifted'), ('contact_attempt', 'Contact attempt'), ('dispute_opened', 'Dispute opened'), ('dispute_resolved', 'Dispute resolved'), ('promise_made', 'Promise to pay'), ('promise_kept', 'Promise kept'), ('promise_broken', 'Promise broken'), ('agreement_proposed', 'Supplementary agreement proposed'), ('agreement_approved', 'Supplementary agreement approved'), ('agreement_rejected', 'Supplementary agreement rejected'), ('dunning_paused', 'Dunning paused'), ('dunning_resumed', 'Dunning resumed'), ('credit_hold', 'Credit hold'), ('payment_received', 'Payment received'), ('thank_you_sent', 'Thank-you sent'), ('note', 'Note'), ('portal_balance_confirmed', 'Balance confirmed online'), ('portal_dispute', 'Dispute sent online'), ('portal_promise', 'Promise to pay sent online'), ('portal_document_requested', 'Document asked for online')], max_length=32, verbose_name='kind'),
        ),
    ]
