"""Errors raised by the PxWeb source. Every message names the table and, where there is one, the query chunk."""

from __future__ import annotations


class PxWebError(Exception):
    """Base class for everything this package raises on purpose."""


class FormatError(PxWebError, ValueError):
    """A file or response is not in a format we can read (or is malformed)."""


class TruncatedResponseError(FormatError):
    """A response body ended early (unparsable JSON, values missing). Retried by the client."""


class QueryError(PxWebError, ValueError):
    """A query does not fit the table's metadata (unknown variable, unknown code, missing mandatory variable)."""


class EmptySelectionError(QueryError):
    """A variable in the query selects no values (an empty list, or a wildcard that matches nothing)."""


class ResponseValidationError(PxWebError):
    """A response does not match what was asked for."""


class VanishedCodeError(ResponseValidationError):
    """Codes that were requested (and exist in the metadata) are missing from the response."""


class LayoutChangedError(ResponseValidationError):
    """The response's dimensions differ from the table metadata: the table was changed under us."""


class PxWebHTTPError(PxWebError):
    """A non-retryable HTTP error (400, 403, 404, ...), with SCB's own message."""

    def __init__(self, message: str, *, status: int, url: str, scb_message: str = ""):
        super().__init__(message)
        self.status = status
        self.url = url
        self.scb_message = scb_message


class RetryableHTTPError(PxWebError):
    """429 / 5xx: retried with backoff; `retry_after` is SCB's Retry-After in seconds when it sent one."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class FetchGaveUpError(PxWebError):
    """The client stopped retrying. The message names the table, the chunk and the last error."""

    def __init__(self, message: str, *, table: str, chunk: str, attempts: int, last_error: BaseException | None):
        super().__init__(message)
        self.table = table
        self.chunk = chunk
        self.attempts = attempts
        self.last_error = last_error


class ReplayMissError(PxWebError):
    """The replay transport has no recording for a request (the request differs from what was recorded)."""
