"""Tasks written as a kind and parameters; kinds for the portal and silent confirmations."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('dunning', '0007_case_event_portal_kinds'),
    ]

    operations = [
        migrations.AddField(
            model_name='collectiontask',
            name='params',
            field=models.JSONField(blank=True, default=dict, verbose_name='parameters'),
        ),
        migrations.AlterField(
            model_name='collectiontask',
            name='kind',
            field=models.CharField(choices=[('call', 'Phone call'), ('follow_up', 'Follow up'), ('manager_escalation', 'Manager escalation'), ('legal_referral', 'Legal referral'), ('promise_due', 'Check promised payment'), ('letter_review', 'Review demand letter'), ('delivery_failed', 'Message could not be delivered'), ('customer_portal', 'Customer acted on the portal'), ('confirmation_silent', 'Balance confirmation unanswered')], max_length=24, verbose_name='kind'),
        ),
        migrations.AlterField(
            model_name='collectiontask',
            name='title',
            field=models.CharField(blank=True, max_length=200, verbose_name='title'),
        ),
    ]
