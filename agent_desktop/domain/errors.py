"""Errors whose message is meant for the agent."""


class UserFacingError(Exception):
    """An error shown to the agent word for word.

    The message is plain language and says what to do, e.g. "Enter an amount like 42.10".
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
