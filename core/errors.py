"""The error classes the engine tells apart: what a person must fix vs. what a retry may fix."""

from __future__ import annotations


class SyncdError(Exception):
    """Base of every error syncd raises on purpose; the CLI prints these as one line."""


class ConfigError(SyncdError):
    """The configuration is unusable; `problems` lists every finding with its TOML path."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "; ".join(problems))


class PluginLoadError(SyncdError):
    """A plugin's entry point failed to import or register."""

    def __init__(self, plugin: str, distribution: str, cause: BaseException) -> None:
        self.plugin = plugin
        self.distribution = distribution
        super().__init__(
            f"plugin {plugin!r} from distribution {distribution!r} failed to load: "
            f"{type(cause).__name__}: {cause}"
        )


class DocumentValidationError(SyncdError):
    """A document whose amounts or fields do not agree; names the document and the field.

    Deliberately not a ValueError, so pydantic does not fold it into a generic ValidationError.
    """

    def __init__(self, document: str, field: str, message: str) -> None:
        self.document = document
        self.field = field
        super().__init__(f"document {document}: {field}: {message}")


class InputError(SyncdError):
    """Bad input from a file or remote: names where (file, line, column or field)."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        super().__init__(f"{where}: {message}")


class DeliveryError(SyncdError):
    """Raised by targets; `code` is the remote's error code when it gave one."""

    transient = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class TransientError(DeliveryError):
    """Worth retrying later: 429, 5xx, timeouts, connection errors."""

    transient = True

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, code=code)


class PermanentError(DeliveryError):
    """Retrying cannot help; the delivery goes to `error` with the remote's message."""
