# Chinese finance writes amounts grouped by thousands with commas (622,250.50);
# Django's zh_Hans defaults leave them ungrouped. Other formats come from Django.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
