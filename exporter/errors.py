"""Exceptions raised by the exporter; every one shares a base class."""


class ExporterError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(ExporterError):
    """The configuration is invalid; `problems` lists every finding."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class FeedError(ExporterError):
    """A feed could not be turned into incidents; `reason` is a metric label."""

    reason = "parse"


class NotAFeedError(FeedError):
    """The body is empty, HTML or otherwise not an Atom or RSS document."""

    reason = "not_a_feed"


class FeedParseError(FeedError):
    """The body looks like a feed but cannot be read safely or completely."""

    reason = "parse"
