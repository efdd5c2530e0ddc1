class BusinessRuleError(Exception):
    """A rule of the domain refused the action; the message is for the user."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
