"""The one exception the server raises for a refusal; app.py turns it into a Problem body."""

from __future__ import annotations


class ApiError(Exception):
    """A 4xx (or 503) with a reason the client can show the agent word for word."""

    def __init__(
        self, status: int, detail: str, code: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.headers = headers or {}


def unauthorized(detail: str, code: str) -> ApiError:
    # RFC 6750: a 401 for a bearer-protected resource names the scheme.
    return ApiError(401, detail, code, headers={"WWW-Authenticate": 'Bearer realm="agent-desktop"'})
