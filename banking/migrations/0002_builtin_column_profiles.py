from django.db import migrations

PROFILES = [
    {
        # 中国工商银行 企业网银 "明细查询" export.
        "name": "icbc",
        "date_column": "交易日期|交易时间",
        "date_format": "%Y-%m-%d",
        "payer_name_column": "对方户名|对方单位名称",
        "payer_account_column": "对方账号",
        "credit_column": "贷方发生额",
        "debit_column": "借方发生额",
        "balance_column": "余额",
        "memo_columns": "摘要|用途|附言",
        "transaction_id_column": "交易流水号|流水号",
        "currency_column": "币种",
    },
    {
        # 招商银行 企业银行 "账务查询" export.
        "name": "cmb",
        "date_column": "交易日",
        "date_format": "%Y%m%d",
        "payer_name_column": "收(付)方名称|收（付）方名称",
        "payer_account_column": "收(付)方帐号|收(付)方账号|收（付）方帐号",
        "credit_column": "贷方金额",
        "debit_column": "借方金额",
        "balance_column": "余额",
        "memo_columns": "摘要|用途|业务摘要",
        "transaction_id_column": "流水号|交易流水号",
        "currency_column": "",
    },
    {
        # 中国建设银行 "账户明细" export.
        "name": "ccb",
        "date_column": "记账日期|交易时间",
        "date_format": "%Y%m%d",
        "payer_name_column": "对方户名",
        "payer_account_column": "对方账号",
        "credit_column": "贷方发生额（收入）|收入金额",
        "debit_column": "借方发生额（支取）|支出金额",
        "balance_column": "余额|账户余额",
        "memo_columns": "摘要|备注|附言",
        "transaction_id_column": "账户明细编号-交易流水号|交易流水号",
        "currency_column": "币种",
    },
]


def add_profiles(apps, schema_editor):
    ColumnProfile = apps.get_model("banking", "ColumnProfile")
    for profile in PROFILES:
        ColumnProfile.objects.update_or_create(
            name=profile["name"], defaults={**profile, "is_builtin": True}
        )


def remove_profiles(apps, schema_editor):
    ColumnProfile = apps.get_model("banking", "ColumnProfile")
    ColumnProfile.objects.filter(name__in=[p["name"] for p in PROFILES], is_builtin=True).delete()


class Migration(migrations.Migration):
    dependencies = [("banking", "0001_bank_accounts_receipts_claims")]

    operations = [migrations.RunPython(add_profiles, remove_profiles)]
