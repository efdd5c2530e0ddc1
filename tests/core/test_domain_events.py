"""Who wants which domain events: a listener that says, or one that takes them all."""

from core import domain_events
from core.domain_events import EventType, domain_event_listener_register, domain_event_types_wanted


def test_the_types_wanted_are_what_the_listeners_keep(monkeypatch):
    monkeypatch.setattr(domain_events, "_listeners", [])
    monkeypatch.setattr(domain_events, "_wants", {})
    assert domain_event_types_wanted() == set()

    def outbox(events):
        pass

    domain_event_listener_register(listener=outbox, wants=lambda: {EventType.INVOICE_PAID})
    assert domain_event_types_wanted() == {EventType.INVOICE_PAID}

    def everything(events):
        pass

    domain_event_listener_register(listener=everything)
    assert domain_event_types_wanted() == set(EventType.values)
