# Chinese finance writes amounts grouped by thousands with commas (622,250.50);
# Django's zh_Hans defaults leave them ungrouped. Other formats come from Django.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

# Dates as every language of the site writes them (config/formats/dates.py).
from config.formats.dates import (  # noqa: E402, F401
    DATE_FORMAT,
    DATETIME_FORMAT,
    MONTH_DAY_FORMAT,
    SHORT_DATE_FORMAT,
    SHORT_DATETIME_FORMAT,
    TIME_FORMAT,
    YEAR_MONTH_FORMAT,
)
