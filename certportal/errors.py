"""Domain errors: a wrong state or a refused action, with a message a person can act on."""


class DomainError(Exception):
    """Raised by services when an action is not allowed now (wrong state, locked, refused)."""

    def __init__(self, message: str, *, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return str(self.message)
