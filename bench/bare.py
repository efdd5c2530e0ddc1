"""Bare-SQL references: the fewest statements that compute what each page or job shows.

They read today's figures from the stored `outstanding` of open invoices (what
the issue asks the pages to do), so the ratio says how far the code is from
the cost of the open book. Parameters: today, rep, customer, as_of, policy.
"""

PAGES = {
    # Today's ageing per currency, overdue per rep, the ten most overdue customers.
    "dashboard": [
        """
        SELECT currency,
               sum(outstanding) FILTER (WHERE due_date >= %(today)s),
               sum(outstanding) FILTER (WHERE due_date < %(today)s AND due_date >= %(today)s - 30),
               sum(outstanding) FILTER (WHERE due_date < %(today)s - 30
                                          AND due_date >= %(today)s - 60),
               sum(outstanding) FILTER (WHERE due_date < %(today)s - 60
                                          AND due_date >= %(today)s - 90),
               sum(outstanding) FILTER (WHERE due_date < %(today)s - 90),
               sum(outstanding)
        FROM receivables_invoice WHERE status = 'open' GROUP BY currency
        """,
        """
        SELECT c.sales_rep_id, i.currency, sum(i.outstanding), count(DISTINCT c.id)
        FROM receivables_invoice i JOIN receivables_customer c ON c.id = i.customer_id
        WHERE i.status = 'open' AND i.due_date < %(today)s
        GROUP BY c.sales_rep_id, i.currency
        """,
        """
        SELECT i.customer_id, sum(i.outstanding) AS overdue
        FROM receivables_invoice i
        WHERE i.status = 'open' AND i.due_date < %(today)s
        GROUP BY i.customer_id ORDER BY overdue DESC LIMIT 10
        """,
    ],
    # The 90+ bucket: its count and total, and its first page by due date.
    "drilldown_90": [
        """
        SELECT count(*), sum(outstanding) FROM receivables_invoice
        WHERE status = 'open' AND due_date < %(today)s - 90
        """,
        """
        SELECT i.id, i.number, c.code, c.name, i.due_date, i.amount, i.outstanding
        FROM receivables_invoice i JOIN receivables_customer c ON c.id = i.customer_id
        WHERE i.status = 'open' AND i.due_date < %(today)s - 90
        ORDER BY i.due_date, i.id LIMIT 50
        """,
    ],
    # Each queue's count (and the unallocated money of the last 180 days per currency, from
    # the payments' stored allocated amount, as the desk reads it).
    "finance_desk": [
        """
        SELECT currency, count(*), sum(amount - allocated_amount)
        FROM receivables_payment
        WHERE status = 'posted' AND allocated_amount < amount
          AND payment_date > %(today)s - 180
        GROUP BY currency
        """,
        """
        SELECT count(*) FROM receivables_payment WHERE payment_date > %(today)s - 7
        """,
        """
        SELECT count(*) FILTER (WHERE delivered_at IS NOT NULL AND receipt_confirmed_at IS NULL),
               count(*) FILTER (WHERE delivered_at IS NULL)
        FROM receivables_invoice WHERE status = 'open'
        """,
        "SELECT count(*) FROM dunning_dispute WHERE status = 'open'",
        "SELECT count(*) FROM receivables_customer WHERE credit_status = 'on_hold'",
        "SELECT count(*) FROM dunning_communication WHERE status = 'failed'",
    ],
    # The rep's customers with open and overdue totals (first page), and today's tasks.
    "rep_home": [
        """
        SELECT c.id, c.name, sum(i.outstanding),
               sum(i.outstanding) FILTER (WHERE i.due_date < %(today)s) AS overdue
        FROM receivables_customer c
        LEFT JOIN receivables_invoice i ON i.customer_id = c.id AND i.status = 'open'
        WHERE c.sales_rep_id = %(rep)s
        GROUP BY c.id ORDER BY overdue DESC NULLS LAST, c.id LIMIT 25
        """,
        "SELECT count(*) FROM receivables_customer WHERE sales_rep_id = %(rep)s",
        """
        SELECT id, kind, title, due_date FROM dunning_collectiontask
        WHERE assignee_id = %(rep)s AND status = 'open' AND due_date <= %(today)s
        ORDER BY due_date, id LIMIT 50
        """,
    ],
    # Every customer with its rep and whether it has a finance contact (the page is not paginated).
    "customer_list": [
        """
        SELECT c.id, c.code, c.name, u.username,
               EXISTS (SELECT 1 FROM receivables_contact k
                       WHERE k.customer_id = c.id AND k.role = 'finance')
        FROM receivables_customer c JOIN auth_user u ON u.id = c.sales_rep_id
        ORDER BY c.name
        """,
    ],
    # The customer's open invoices, its ageing and its last payments.
    "customer_page": [
        """
        SELECT id, number, issue_date, due_date, amount, outstanding FROM receivables_invoice
        WHERE customer_id = %(customer)s AND status = 'open' ORDER BY due_date, id
        """,
        """
        SELECT sum(outstanding) FILTER (WHERE due_date >= %(today)s),
               sum(outstanding) FILTER (WHERE due_date < %(today)s - 90), sum(outstanding)
        FROM receivables_invoice WHERE customer_id = %(customer)s AND status = 'open'
        """,
        """
        SELECT id, payment_date, amount, reference FROM receivables_payment
        WHERE customer_id = %(customer)s ORDER BY payment_date DESC, id DESC LIMIT 10
        """,
    ],
}

# The steps the run would write on as_of, for all items at once: the pre-due
# reminder, and the next rung of each item (its offset reached, the rung
# before it fired at least min_gap_days ago), leaving out paid, disputed,
# promised, agreed and paused items. Invoices only; instalments are a few
# percent of the items. Found into a temporary table, then written by RUN_INSERT.
RUN_STEPS = """
CREATE TEMPORARY TABLE bench_steps ON COMMIT DROP AS
WITH policy AS (
    SELECT id, tolerance, min_gap_days, promise_grace_days FROM dunning_dunningpolicy
    WHERE id = %(policy)s
), rungs AS (
    SELECT code, days_offset, lag(code) OVER (ORDER BY sequence) AS previous
    FROM dunning_dunninglevel WHERE policy_id = %(policy)s AND code <> 'pre_due'
), items AS (
    SELECT i.id, i.customer_id, i.due_date, i.currency, i.outstanding
    FROM receivables_invoice i
    JOIN receivables_customer c ON c.id = i.customer_id
    WHERE i.status = 'open' AND i.issue_date <= %(as_of)s
      AND i.outstanding >= (SELECT tolerance FROM policy)
      AND (c.dunning_paused_until IS NULL OR c.dunning_paused_until < %(as_of)s)
      AND NOT EXISTS (
          SELECT 1 FROM dunning_dispute_invoices di
          JOIN dunning_dispute d ON d.id = di.dispute_id
          WHERE di.invoice_id = i.id AND d.status = 'open')
      AND NOT EXISTS (
          SELECT 1 FROM dunning_promisetopay_invoices pi
          JOIN dunning_promisetopay p ON p.id = pi.promisetopay_id
          WHERE pi.invoice_id = i.id AND p.status = 'open'
            AND p.promised_date + (SELECT promise_grace_days FROM policy) >= %(as_of)s)
      AND NOT EXISTS (
          SELECT 1 FROM contracts_supplementaryagreement_invoices ai
          JOIN contracts_supplementaryagreement a ON a.id = ai.supplementaryagreement_id
          WHERE ai.invoice_id = i.id AND a.status = 'approved')
)
SELECT items.id AS invoice_id, items.customer_id, rungs.code AS level, items.due_date,
       items.currency, items.outstanding
FROM items JOIN rungs ON items.due_date <= %(as_of)s - rungs.days_offset
WHERE NOT EXISTS (SELECT 1 FROM dunning_dunningstep s
                  WHERE s.invoice_id = items.id AND s.level = rungs.code)
  AND (rungs.previous IS NULL OR EXISTS (
          SELECT 1 FROM dunning_dunningstep s
          WHERE s.invoice_id = items.id AND s.level = rungs.previous
            AND s.fired_on <= %(as_of)s - (SELECT min_gap_days FROM policy)))
UNION ALL
SELECT items.id, items.customer_id, 'pre_due', items.due_date, items.currency, items.outstanding
FROM items
WHERE items.due_date > %(as_of)s AND items.due_date <= %(pre_due_last)s
  AND NOT EXISTS (SELECT 1 FROM dunning_dunningstep s
                  WHERE s.invoice_id = items.id AND s.level = 'pre_due')
"""

# The foreign keys are deferred (checked at COMMIT); a reference that is rolled back would
# never pay their checks, which the run's commits do. This makes them run per statement.
CHECK_FOREIGN_KEYS = "SET CONSTRAINTS ALL IMMEDIATE"

# Those steps written into the run's own table, with its indexes and unique keys, under
# one batch as a chunk writes them: the bare INSERT … SELECT the run is held against
# (rolled back, then vacuumed so the run meets no dead rows).
RUN_INSERT = """
INSERT INTO dunning_dunningstep
    (customer_id, invoice_id, level, fired_on, due_date, currency, outstanding, batch,
     excluded_reason, created_at)
SELECT customer_id, invoice_id, level, %(as_of)s, due_date, currency, outstanding,
       %(batch)s, '', now()
FROM bench_steps
ON CONFLICT DO NOTHING
"""

# The messages the run would build from those steps: one per customer, level and currency.
RUN_MESSAGES = """
SELECT customer_id, level, currency, count(*), sum(outstanding)
FROM bench_steps GROUP BY customer_id, level, currency
"""

# Everything else the first run writes for those steps, in bare SQL (run after RUN_INSERT,
# rolled back with it): the invoices' stored rungs, one message per customer, level and
# currency, the steps linked to their messages, the internal channels' tasks, a case for
# each overdue customer without one, and the timeline rows. Not the reference: the
# floor of the same writes, so the run's cost can be read against the work it must do.
RUN_WRITES = [
    """
    UPDATE receivables_invoice i SET dunning_rung = r.rank
    FROM (
        SELECT invoice_id, max(CASE level WHEN 'reminder' THEN 1 WHEN 'demand_letter' THEN 2
                                          WHEN 'executive' THEN 3 WHEN 'legal' THEN 4 END) AS rank
        FROM dunning_dunningstep
        WHERE invoice_id IN (SELECT invoice_id FROM bench_steps)
          AND level IN ('reminder', 'demand_letter', 'executive', 'legal')
        GROUP BY invoice_id
    ) r
    WHERE i.id = r.invoice_id
    """,
    """
    CREATE TEMPORARY TABLE bench_messages ON COMMIT DROP AS
    WITH grouped AS (
        SELECT s.customer_id, s.level, s.currency, sum(s.outstanding) AS total,
               jsonb_agg(i.number ORDER BY s.due_date, i.number) AS items
        FROM bench_steps s JOIN receivables_invoice i ON i.id = s.invoice_id
        GROUP BY s.customer_id, s.level, s.currency
    ), inserted AS (
        INSERT INTO dunning_communication
            (business_date, level, currency, channels, status, failure_reason, failure_detail,
             message_id, language, recipient_name, recipient_email, subject, body,
             total_amount, letter_pdf, attempts, created_at, updated_at, customer_id,
             delivery_state, provider_message_id)
        SELECT %(as_of)s, g.level, g.currency, l.channels,
               CASE WHEN l.requires_approval THEN 'awaiting_approval'
                    WHEN NOT l.channels ?| array['email', 'executive_email', 'letter']
                    THEN 'sent' ELSE 'pending' END,
               '', '', gen_random_uuid(), c.language, COALESCE(ct.name, ''),
               COALESCE(ct.email, ''), '', '', g.total, '', 0, now(), now(), g.customer_id,
               'unknown', ''
        FROM grouped g
        JOIN receivables_customer c ON c.id = g.customer_id
        JOIN dunning_dunninglevel l ON l.policy_id = %(policy)s AND l.code = g.level
        LEFT JOIN LATERAL (
            SELECT name, email FROM receivables_contact
            WHERE customer_id = g.customer_id AND email <> ''
              AND role = CASE WHEN l.channels ? 'executive_email' AND NOT l.channels ? 'email'
                              THEN 'executive' ELSE 'finance' END
            ORDER BY email_bounced_at NULLS FIRST, id LIMIT 1
        ) ct ON true
        RETURNING id, customer_id, level, currency, status, channels
    )
    SELECT inserted.*, grouped.items, c.name AS customer_name, c.sales_rep_id
    FROM inserted
    JOIN grouped USING (customer_id, level, currency)
    JOIN receivables_customer c ON c.id = inserted.customer_id
    """,
    """
    UPDATE dunning_dunningstep s SET communication_id = m.id
    FROM bench_messages m
    WHERE s.batch = %(batch)s AND s.customer_id = m.customer_id AND s.level = m.level
      AND s.currency = m.currency
    """,
    """
    CREATE TEMPORARY TABLE bench_cases ON COMMIT DROP AS
    WITH inserted AS (
        INSERT INTO dunning_collectioncase
            (status, overdue_reason, opened_on, notes, created_at, updated_at, customer_id,
             owner_id, closed_reason)
        SELECT 'open', 'unknown', %(as_of)s, '', now(), now(), c.id, c.sales_rep_id, ''
        FROM receivables_customer c
        WHERE EXISTS (
                SELECT 1 FROM receivables_invoice i
                WHERE i.customer_id = c.id AND i.status = 'open' AND i.due_date < %(as_of)s
                  AND i.outstanding >= (SELECT tolerance FROM dunning_dunningpolicy
                                        WHERE id = %(policy)s))
          AND NOT EXISTS (SELECT 1 FROM dunning_collectioncase k
                          WHERE k.customer_id = c.id AND k.status = 'open')
        RETURNING id, customer_id
    )
    SELECT * FROM inserted
    """,
    """
    CREATE TEMPORARY TABLE bench_tasks ON COMMIT DROP AS
    WITH inserted AS (
        INSERT INTO dunning_collectiontask
            (kind, title, details, due_date, status, outcome, created_at, assignee_id, case_id,
             customer_id, communication_id, closed_reason, params)
        SELECT t.kind, '', '', %(as_of)s, 'open', '', now(),
               CASE WHEN t.channel = 'phone_task' THEN m.sales_rep_id
                    ELSE (SELECT min(user_id) FROM auth_user_groups ug
                          JOIN auth_group g ON g.id = ug.group_id
                          WHERE g.name = 'manager') END,
               k.id, m.customer_id, m.id, '',
               jsonb_build_object('what', t.what, 'customer', m.customer_name,
                                  'items', m.items)
        FROM bench_messages m
        JOIN (VALUES ('phone_task', 'call', 'call'),
                     ('manager_task', 'manager_escalation', 'escalate'),
                     ('legal_task', 'legal_referral', 'legal')) AS t (channel, kind, what)
          ON m.channels ? t.channel
        LEFT JOIN dunning_collectioncase k
          ON k.customer_id = m.customer_id AND k.status = 'open'
        WHERE m.status <> 'awaiting_approval'
        RETURNING id, customer_id, case_id, communication_id, kind, assignee_id, params
    )
    SELECT * FROM inserted
    """,
    """
    INSERT INTO dunning_caseevent (kind, text, data, created_at, customer_id, case_id)
    SELECT 'case_opened', '', jsonb_build_object('as_of', %(as_of)s::text), now(),
           customer_id, id
    FROM bench_cases
    UNION ALL
    SELECT 'communication_queued', '',
           jsonb_build_object('communication', m.id, 'level', m.level, 'currency', m.currency,
                              'items', m.items, 'status', m.status),
           now(), m.customer_id, k.id
    FROM bench_messages m
    LEFT JOIN dunning_collectioncase k ON k.customer_id = m.customer_id AND k.status = 'open'
    UNION ALL
    SELECT 'task_created', '',
           jsonb_build_object('task', t.id, 'kind', t.kind, 'task_params', t.params,
                              'assignee', u.username, 'communication', t.communication_id),
           now(), t.customer_id, t.case_id
    FROM bench_tasks t LEFT JOIN auth_user u ON u.id = t.assignee_id
    UNION ALL
    SELECT 'communication_sent', '',
           jsonb_build_object('communication', m.id, 'level', m.level, 'items', m.items),
           now(), m.customer_id, k.id
    FROM bench_messages m
    LEFT JOIN dunning_collectioncase k ON k.customer_id = m.customer_id AND k.status = 'open'
    WHERE m.status = 'sent'
    """,
]

# The same ageing as ageing_report as of a date, from full history, in one statement.
AGEING = """
WITH paid AS (
    SELECT a.invoice_id, sum(a.amount) AS amount
    FROM receivables_paymentallocation a
    JOIN receivables_payment p ON p.id = a.payment_id
    WHERE p.status = 'posted' AND p.payment_date <= %(today)s
    GROUP BY a.invoice_id
), credited AS (
    SELECT invoice_id, sum(amount) AS amount FROM receivables_creditnote
    WHERE issue_date <= %(today)s GROUP BY invoice_id
), open AS (
    SELECT i.customer_id, i.due_date,
           i.amount - COALESCE(paid.amount, 0) - COALESCE(credited.amount, 0) AS amount
    FROM receivables_invoice i
    LEFT JOIN paid ON paid.invoice_id = i.id
    LEFT JOIN credited ON credited.invoice_id = i.id
    WHERE i.issue_date <= %(today)s AND i.currency = 'CNY' AND i.status <> 'cancelled'
)
SELECT c.code, c.name,
       sum(amount) FILTER (WHERE due_date >= %(today)s),
       sum(amount) FILTER (WHERE due_date < %(today)s AND due_date >= %(today)s - 30),
       sum(amount) FILTER (WHERE due_date < %(today)s - 30 AND due_date >= %(today)s - 60),
       sum(amount) FILTER (WHERE due_date < %(today)s - 60 AND due_date >= %(today)s - 90),
       sum(amount) FILTER (WHERE due_date < %(today)s - 90),
       sum(amount)
FROM open JOIN receivables_customer c ON c.id = open.customer_id
GROUP BY c.id HAVING sum(amount) >= 0.005 ORDER BY c.code
"""

# The monthly statement run's rows: every due schedule's customer with its ledger
# balance at the period's end (invoiced + reversed - paid - credited, in the customer's
# currency) and its first finance address, less those already created for the period
# and those at zero; into a temporary table. Params: as_of, start, end, tz.
STATEMENT_RUN = """
CREATE TEMPORARY TABLE bench_statements ON COMMIT DROP AS
WITH invoiced AS (
    SELECT customer_id, currency, sum(amount) AS amount FROM receivables_invoice
    WHERE issue_date <= %(end)s AND status <> 'cancelled' GROUP BY customer_id, currency
), paid AS (
    SELECT customer_id, currency, sum(amount) AS amount FROM receivables_payment
    WHERE payment_date <= %(end)s GROUP BY customer_id, currency
), reversed AS (
    SELECT customer_id, currency, sum(amount) AS amount FROM receivables_payment
    WHERE status = 'reversed' AND reversed_at IS NOT NULL
      AND (reversed_at AT TIME ZONE %(tz)s)::date <= %(end)s
    GROUP BY customer_id, currency
), credited AS (
    SELECT i.customer_id, i.currency, sum(n.amount) AS amount
    FROM receivables_creditnote n JOIN receivables_invoice i ON i.id = n.invoice_id
    WHERE n.issue_date <= %(end)s GROUP BY i.customer_id, i.currency
), finance AS (
    SELECT DISTINCT ON (customer_id) customer_id, email FROM receivables_contact
    WHERE role = 'finance' AND email_bounced_at IS NULL AND email <> ''
    ORDER BY customer_id, id
), due AS (
    SELECT c.id AS customer_id, c.currency, s.send_at_zero_balance,
           COALESCE(invoiced.amount, 0) + COALESCE(reversed.amount, 0)
           - COALESCE(paid.amount, 0) - COALESCE(credited.amount, 0) AS closing,
           COALESCE(finance.email, '') AS recipient
    FROM statements_statementschedule s
    JOIN receivables_customer c ON c.id = s.customer_id
    LEFT JOIN invoiced ON invoiced.customer_id = c.id AND invoiced.currency = c.currency
    LEFT JOIN paid ON paid.customer_id = c.id AND paid.currency = c.currency
    LEFT JOIN reversed ON reversed.customer_id = c.id AND reversed.currency = c.currency
    LEFT JOIN credited ON credited.customer_id = c.id AND credited.currency = c.currency
    LEFT JOIN finance ON finance.customer_id = c.id
    WHERE s.frequency = 'monthly' AND s.working_day <= 1
      AND NOT EXISTS (SELECT 1 FROM statements_statement t
                      WHERE t.customer_id = c.id AND t.period_start = %(start)s)
)
SELECT customer_id, currency, round(closing, 2) AS closing, recipient FROM due
WHERE abs(closing) >= 0.005 OR send_at_zero_balance
"""
# The API lists' first page of 100, newest first (the cursor's order), with what each row shows.
API = {
    "api_invoices": [
        """
        SELECT i.*, c.code, u.username
        FROM receivables_invoice i JOIN receivables_customer c ON c.id = i.customer_id
        JOIN auth_user u ON u.id = c.sales_rep_id
        ORDER BY i.id DESC LIMIT 101
        """,
    ],
    "api_invoices_open": [
        """
        SELECT i.*, c.code, u.username
        FROM receivables_invoice i JOIN receivables_customer c ON c.id = i.customer_id
        JOIN auth_user u ON u.id = c.sales_rep_id
        WHERE i.status = 'open'
        ORDER BY i.id DESC LIMIT 101
        """,
    ],
    "api_customers": [
        """
        CREATE TEMPORARY TABLE bench_page ON COMMIT DROP AS
        SELECT c.*, u.username,
               (SELECT coalesce(sum(outstanding), 0) FROM receivables_invoice i
                WHERE i.customer_id = c.id AND i.status = 'open') AS open_receivables
        FROM receivables_customer c JOIN auth_user u ON u.id = c.sales_rep_id
        ORDER BY c.id DESC LIMIT 101
        """,
        """
        SELECT k.* FROM receivables_contact k
        WHERE k.customer_id IN (SELECT id FROM bench_page) ORDER BY k.role, k.name, k.id
        """,
    ],
    "api_payments": [
        """
        CREATE TEMPORARY TABLE bench_page ON COMMIT DROP AS
        SELECT p.*, c.code,
               p.amount - (SELECT coalesce(sum(a.amount), 0) FROM receivables_paymentallocation a
                           WHERE a.payment_id = p.id) AS unallocated
        FROM receivables_payment p JOIN receivables_customer c ON c.id = p.customer_id
        ORDER BY p.id DESC LIMIT 101
        """,
        """
        SELECT a.*, i.number FROM receivables_paymentallocation a
        JOIN receivables_invoice i ON i.id = a.invoice_id
        WHERE a.payment_id IN (SELECT id FROM bench_page) ORDER BY a.id
        """,
    ],
}
