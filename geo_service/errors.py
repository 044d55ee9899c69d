"""One exception tree for the whole service.

Every error a user can cause is a :class:`GeoServiceError` whose message says what was wrong
and what was expected. The CLI prints the message without a traceback; the API maps each class
to one HTTP status in one place (``geo_service.api.errors``).
"""

from __future__ import annotations

from typing import Any


class GeoServiceError(Exception):
    """Base class of the errors geo-service reports to its users."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as it is (an import's error crosses from its worker process), whatever the
        # subclass's __init__ takes
        return (_rebuilt, (type(self), self.args, self.__dict__))


def _rebuilt(cls: type[GeoServiceError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class InputError(GeoServiceError):
    """An input file or layer cannot be used: names file, columns or rows, and what was expected."""


class ParameterError(GeoServiceError):
    """A parameter (CLI flag, setting, query parameter) has an invalid value."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"parameter '{parameter}': {message}")
        self.parameter = parameter


class NotFoundError(GeoServiceError):
    """A layer, zone, commune or feature does not exist."""


class StoreError(GeoServiceError):
    """The layer store cannot be read or written."""


class ServerSpaceError(GeoServiceError):
    """The server cannot hold what it was sent (its temporary directory full or read-only)."""


class AuthError(GeoServiceError):
    """A write request without a valid API key."""


class ForbiddenError(AuthError):
    """A write request with a wrong API key, or while writing is disabled."""


class RateLimitedError(AuthError):
    """A client that failed too often lately; ``retry_after`` seconds before it may retry."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PayloadTooLargeError(InputError):
    """An upload (or the data it expands to) exceeds a configured limit."""


class LimitExceededError(PayloadTooLargeError):
    """An import that needed more memory or time than its configured limit."""


class RequestTimeoutError(InputError):
    """A request whose body did not arrive in the time allowed (a client too slow, or one
    holding the connection on purpose)."""


class UnsupportedMediaTypeError(InputError):
    """An upload whose media type or file extension cannot be imported."""


def format_rows(rows: list[int] | tuple[int, ...], limit: int = 5) -> str:
    """Describe 1-based row numbers briefly: ``rows 3, 7, 9 and 12 more``."""
    shown = ", ".join(str(r) for r in rows[:limit])
    more = len(rows) - limit
    noun = "row" if len(rows) == 1 else "rows"
    return f"{noun} {shown}" + (f" and {more} more" if more > 0 else "")
