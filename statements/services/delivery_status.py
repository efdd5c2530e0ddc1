def delivery_event_receive(sender: object, event: object, esp_name: str, **kwargs: object) -> None:
    return None
