"""One way to write dates and times, the same in every language of the site.

Decided for issue 11: ISO dates ("2026-09-16") and 24-hour times ("2026-09-16 14:05")
in English and Chinese alike. Finance reads and sorts them at a glance, Chinese
business documents use them as readily as "2026年9月16日", and an amount column next
to a date column lines up in both languages. Templates write `{{ value|date }}` (a
date) and `{{ value|date:"DATETIME_FORMAT" }}` (a moment); Python writes
`core.events.date_text` / `datetime_text`. Never "2 minutes ago".
"""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "Y-m"
MONTH_DAY_FORMAT = "m-d"

# A formal document (the demand letter) dates itself as its language writes a letter.
FORMAL_DATE_FORMATS = {"zh-hans": "Y年n月j日", "en": "j F Y"}
