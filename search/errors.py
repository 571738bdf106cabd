"""The one exception tree of bisearch.

Every error the library raises on purpose derives from :class:`BisearchError`,
so an embedding tool can catch one class; the CLI turns each into a one-line
message with a hint and an exit code, never a traceback::

    BisearchError                 base; .hint says what to do next
    ├── InputError                a document source is unusable (.path, .line)
    ├── QueryError                a query cannot be understood (.query)
    └── IndexStateError           an index cannot be used as asked
        ├── IndexNotFound         no index at that directory
        ├── IndexVersionError     written by an incompatible version: rebuild
        └── IndexLocked           another writer holds the lock

``IndexStateError`` is not called IndexError so it never shadows the builtin.
"""

from __future__ import annotations


class BisearchError(Exception):
    """Base of every error bisearch raises deliberately.

    ``hint`` is a short next step for a person ("run `bisearch index PATH`
    first"); the CLI prints it under the message.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(BisearchError):
    """A document source (file, JSONL line) could not be used."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.line = line

    @property
    def where(self) -> str:
        """``path:line`` (or just the path) for messages."""
        if self.path is None:
            return "<input>"
        return f"{self.path}:{self.line}" if self.line is not None else self.path


class QueryError(BisearchError):
    """A query string cannot be parsed or is empty."""

    exit_code = 2

    def __init__(self, message: str, *, query: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.query = query


class IndexStateError(BisearchError):
    """An index directory cannot be used as asked."""

    exit_code = 4


class IndexNotFound(IndexStateError):
    """There is no bisearch index at the given directory."""


class IndexVersionError(IndexStateError):
    """The index was written by an incompatible schema or analyzer version."""


class IndexLocked(IndexStateError):
    """Another process holds the index's write lock."""

    exit_code = 5
