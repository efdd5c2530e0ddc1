from dunning.models.cases import (
    CaseEvent,
    CollectionCase,
    Dispute,
    PromiseToPay,
    SettlementReason,
)
from dunning.models.policy import RUNG_RANKS, Channel, DunningLevel, DunningPolicy, LevelCode
from dunning.models.run import (
    CollectionTask,
    Communication,
    DeliveryState,
    DunningRun,
    DunningRunChunk,
    DunningStep,
    agreements_first_invoice,
    instalment_label,
    instalment_label_of,
)

__all__ = [
    "RUNG_RANKS",
    "CaseEvent",
    "Channel",
    "CollectionCase",
    "CollectionTask",
    "Communication",
    "DeliveryState",
    "Dispute",
    "DunningLevel",
    "DunningPolicy",
    "DunningRun",
    "DunningRunChunk",
    "DunningStep",
    "LevelCode",
    "PromiseToPay",
    "SettlementReason",
    "agreements_first_invoice",
    "instalment_label",
    "instalment_label_of",
]
