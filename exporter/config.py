"""Load and check `providers.yaml`: which status-page feeds to poll, and how."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import yaml

from exporter.errors import ConfigError

KIB = 1024
MIB = 1024 * KIB

# Refused before reading: a real providers file is a few tens of KiB.
# Known limit: scanning alone still takes up to 20 s for 10 MiB of blank lines or
# comments; only a smaller cap would shorten that.
MAX_CONFIG_BYTES = 10 * MIB
# Composing YAML in pure Python costs about 50 microseconds and 700 bytes per node,
# so a hostile 10 MiB file could take minutes and gigabytes. 20,000 nodes is room
# for about 3,000 providers and keeps a bad file to about a second.
MAX_YAML_NODES = 20_000
# The deepest real value (providers -> name -> labels -> value) is five levels down.
MAX_YAML_DEPTH = 32

DEFAULT_INTERVAL = 60.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_FORMAT = "auto"
DEFAULT_MAX_BODY_BYTES = 5 * MIB
FEED_FORMATS = ("auto", "atom", "rss")

TOP_LEVEL_KEYS = ("defaults", "providers")
DEFAULTS_KEYS = ("interval", "timeout", "format", "headers", "labels", "max_body_size")
PROVIDER_KEYS = ("url", "name", *DEFAULTS_KEYS)

# The exporter's own metrics use these label names; a user label with the same
# name would clash with them.
RESERVED_LABELS = frozenset(
    {
        "provider",
        "name",
        "url",
        "incident",
        "kind",
        "status",
        "impact",
        "title",
        "event",
        "reason",
        "code",
        "components",
        "version",
    }
)
# Prometheus sets these on every scraped series; a metric's own would be renamed.
TARGET_LABELS = frozenset({"job", "instance"})

PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# An RFC 9110 token; anything else is refused by the HTTP client at request time.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# A year: longer deadlines or intervals are mistakes, and a huge timeout would
# let one dead server hold a poll slot for ever.
MAX_DURATION_SECONDS = 365 * 86400
DURATION = re.compile(
    r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m(?!s))?(?:([0-9]+)s)?(?:([0-9]+)ms)?"
)
BYTE_SIZE = re.compile(r"([0-9]+) ?([A-Za-z]*)")
BYTE_UNITS = {
    "": 1,
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": KIB,
    "MiB": MIB,
    "GiB": 1024 * MIB,
}

YAML_TAG = "tag:yaml.org,2002:"
STRING_TAG = YAML_TAG + "str"
NULL_TAG = YAML_TAG + "null"
MERGE_TAG = YAML_TAG + "merge"
# Tags the safe resolver gives untagged nodes; explicit tags such as !!python/...
# are refused outright even though this module never constructs them.
PLAIN_TAGS = frozenset(
    YAML_TAG + kind
    for kind in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)

T = TypeVar("T")
# Sorted (name, value) pairs: hashable, so frozen configs compare with ==.
Pairs = tuple[tuple[str, str], ...]
NO_PAIRS: Pairs = ()


@dataclass(frozen=True)
class ProviderConfig:
    """One status-page feed to poll and how to poll it."""

    name: str
    url: str
    interval: float
    timeout: float
    format: str
    headers: tuple[tuple[str, str], ...]
    display_name: str
    labels: tuple[tuple[str, str], ...]
    max_body_bytes: int


@dataclass(frozen=True)
class Config:
    """A checked providers file."""

    path: str
    providers: tuple[ProviderConfig, ...]

    def provider(self, name: str) -> ProviderConfig:
        """Return the provider with this key; raise KeyError if there is none."""
        for provider in self.providers:
            if provider.name == name:
                return provider
        raise KeyError(name)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check a providers file; raise ConfigError listing every problem."""
    path_text = os.fspath(path)
    where = _Where(path_text, [])

    document = _compose_file(where)
    providers = _read_document(document, where) if document is not None else ()

    if where.problems:
        raise ConfigError(where.sorted_problems())
    return Config(path=path_text, providers=providers)


def parse_duration(text: str) -> float:
    """Turn a duration such as `500ms`, `30s`, `2m`, `1h30m` or `7d` into seconds."""
    match = DURATION.fullmatch(text)
    if match is None or not any(match.groups()):
        raise ValueError(f"not a duration: {text!r}")
    if len(text) > 32:
        raise ValueError(f"duration too long: {text[:32]!r}...")
    days, hours, minutes, seconds, millis = (int(part or 0) for part in match.groups())
    total = days * 86400 + hours * 3600 + minutes * 60 + seconds + millis / 1000
    if total > MAX_DURATION_SECONDS:
        raise ValueError(f"duration too long: {text!r} (at most 365d)")
    return total


def bundled_config_path() -> str:
    """Return the path of the providers.yaml shipped inside the package."""
    return str(Path(__file__).with_name("providers.yaml"))


@dataclass(frozen=True)
class _Settings:
    """The keys a provider may inherit from `defaults`."""

    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    format: str = DEFAULT_FORMAT
    headers: Pairs = ()
    labels: Pairs = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


@dataclass(frozen=True)
class _Where:
    """The place a check is looking at; every copy adds to the same problems."""

    path: str
    problems: list[tuple[int, str]]
    context: str = ""

    def within(self, part: str) -> _Where:
        context = f"{self.context}: {part}" if self.context else part
        return replace(self, context=context)

    def key(self, key: str) -> _Where:
        return self.within(f"key '{key}'")

    def provider(self, name: str) -> _Where:
        return replace(self, context=f"provider '{name}'")

    def problem(self, node: yaml.Node | None, message: str) -> None:
        self.problem_at(None if node is None else node.start_mark.line + 1, message)

    def problem_at(self, line: int | None, message: str) -> None:
        location = self.path if line is None else f"{self.path}:{line}"
        parts = (location, self.context, message)
        self.problems.append((line or 0, ": ".join(part for part in parts if part)))

    def sorted_problems(self) -> list[str]:
        """Return the problems in file order, the way an editor would list them."""
        return [message for _, message in sorted(self.problems, key=lambda p: p[0])]


class _DocumentTooComplexError(yaml.MarkedYAMLError):
    """The YAML nests deeper or holds more nodes than any providers file could."""


class _BoundedLoader(yaml.SafeLoader):
    """A safe loader that stops composing once a document is implausibly big."""

    def __init__(self, stream: bytes) -> None:
        super().__init__(stream)
        self.node_count = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.node_count += 1
        if self.node_count > MAX_YAML_NODES:
            self._refuse(f"more than {MAX_YAML_NODES} YAML nodes")
        if self.depth >= MAX_YAML_DEPTH:
            self._refuse(f"nested deeper than {MAX_YAML_DEPTH} levels")

        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def _refuse(self, problem: str) -> None:
        raise _DocumentTooComplexError(
            problem=f"{problem}; this is not a providers file",
            problem_mark=self.get_mark(),
        )


def _compose_file(where: _Where) -> yaml.Node | None:
    """Parse the file into YAML nodes, never into Python objects."""
    content = _read_bounded(where)
    if content is None:
        return None

    try:
        document = yaml.compose(content, Loader=_BoundedLoader)
    except _DocumentTooComplexError as error:
        where.problem_at(_error_line(error), error.problem or "too complex")
        return None
    except yaml.YAMLError as error:
        where.problem_at(_error_line(error), f"not valid YAML: {_yaml_problem(error)}")
        return None

    if document is None:
        where.problem(None, "the file is empty: no providers configured")
    return document


def _read_bounded(where: _Where) -> bytes | None:
    """Read the whole file unless it is missing, unreadable or too large."""
    try:
        with open(where.path, "rb") as file:
            # Also read one byte past the limit: a pipe or a /proc file has size 0.
            too_large = os.fstat(file.fileno()).st_size > MAX_CONFIG_BYTES
            content = b"" if too_large else file.read(MAX_CONFIG_BYTES + 1)
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) else None
        where.problem(None, f"cannot read the file: {reason or error}")
        return None

    if too_large or len(content) > MAX_CONFIG_BYTES:
        limit = MAX_CONFIG_BYTES // MIB
        where.problem(None, f"the file is larger than {limit} MiB; refusing to read it")
        return None
    return content


def _error_line(error: yaml.YAMLError) -> int | None:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return None if mark is None else int(mark.line) + 1


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem:
        return f"{error.context}: {error.problem}" if error.context else error.problem
    return str(error)


def _read_document(document: yaml.Node, where: _Where) -> tuple[ProviderConfig, ...]:
    """Check the top-level mapping, then the defaults, then every provider."""
    if not isinstance(document, yaml.MappingNode) and not _is_null(document):
        where.problem(document, "the file must be a mapping with a 'providers' key")
        return ()

    fields = _fields(document, TOP_LEVEL_KEYS, where)
    if fields is None:
        return ()
    defaults = _read_defaults(fields.get("defaults"), where.within("defaults"))

    providers = fields.get("providers")
    if providers is None:
        where.problem(document, "no providers configured: add a 'providers' mapping")
        return ()
    return _read_providers(providers, defaults, where)


def _read_defaults(node: yaml.Node | None, where: _Where) -> _Settings:
    built_in = _Settings()
    if node is None:
        return built_in
    fields = _fields(node, DEFAULTS_KEYS, where)
    if fields is None:
        return built_in
    return _read_settings(fields, built_in, where)


def _read_providers(
    node: yaml.Node, defaults: _Settings, where: _Where
) -> tuple[ProviderConfig, ...]:
    entries = _mapping_entries(node, where.key("providers"), where.provider)
    if entries is None:
        return ()
    if _is_null(node) or not node.value:
        where.key("providers").problem(node, "no providers configured")
        return ()

    providers: list[ProviderConfig] = []
    for name, key_node, value_node in entries:
        provider_where = where.provider(name)
        if not PROVIDER_NAME.fullmatch(name):
            provider_where.problem(key_node, _bad_provider_name(name))
        provider = _read_provider(name, key_node, value_node, defaults, provider_where)
        if provider is not None:
            providers.append(provider)
    return tuple(providers)


def _bad_provider_name(name: str) -> str:
    return (
        f"invalid provider name {name!r}: use lower-case letters, digits, '-' "
        "and '_', starting with a letter or digit"
    )


def _read_provider(
    name: str,
    key_node: yaml.Node,
    value_node: yaml.Node,
    defaults: _Settings,
    where: _Where,
) -> ProviderConfig | None:
    """Check one provider's settings and lay them over the defaults."""
    fields = _fields(value_node, PROVIDER_KEYS, where)
    if fields is None:
        return None
    if "url" not in fields:
        where.key("url").problem(key_node, "is required")
    url = _read_url(fields["url"], where.key("url")) if "url" in fields else None
    # The other keys are checked even without a url, so every problem shows.
    settings = _read_settings(fields, defaults, where)
    display_name = _setting(fields, "name", _read_display_name, name, where)
    if url is None:
        return None
    return ProviderConfig(
        name=name,
        url=url,
        interval=settings.interval,
        timeout=settings.timeout,
        format=settings.format,
        headers=settings.headers,
        display_name=display_name,
        labels=settings.labels,
        max_body_bytes=settings.max_body_bytes,
    )


def _read_settings(
    fields: dict[str, yaml.Node], base: _Settings, where: _Where
) -> _Settings:
    """Lay the inheritable keys found in `fields` over `base`."""
    headers = _setting(fields, "headers", _read_headers, NO_PAIRS, where)
    labels = _setting(fields, "labels", _read_labels, NO_PAIRS, where)
    return _Settings(
        interval=_setting(fields, "interval", _read_duration, base.interval, where),
        timeout=_setting(fields, "timeout", _read_duration, base.timeout, where),
        format=_setting(fields, "format", _read_format, base.format, where),
        headers=_merge_headers(base.headers, headers),
        labels=_merge_labels(base.labels, labels),
        max_body_bytes=_setting(
            fields, "max_body_size", _read_body_size, base.max_body_bytes, where
        ),
    )


def _setting(
    fields: dict[str, yaml.Node],
    key: str,
    read: Callable[[yaml.Node, _Where], T | None],
    fallback: T,
    where: _Where,
) -> T:
    """Read one optional key; keep `fallback` when it is absent or wrong."""
    node = fields.get(key)
    if node is None:
        return fallback
    value = read(node, where.key(key))
    return fallback if value is None else value


def _merge_headers(base: Pairs, extra: Pairs) -> Pairs:
    # Header names ignore case, so a provider's `user-agent` replaces `User-Agent`.
    merged = {name.lower(): (name, value) for name, value in base}
    merged.update({name.lower(): (name, value) for name, value in extra})
    return tuple(sorted(merged.values()))


def _merge_labels(base: Pairs, extra: Pairs) -> Pairs:
    # Prometheus treats an empty label value as no label, so `team: ""` is how a
    # provider drops a label it would otherwise inherit from `defaults`.
    merged = dict(base) | dict(extra)
    return tuple(sorted((name, value) for name, value in merged.items() if value))


def _fields(
    node: yaml.Node, allowed: Sequence[str], where: _Where
) -> dict[str, yaml.Node] | None:
    """Return a settings mapping's values by key, reporting keys not allowed."""
    entries = _mapping_entries(node, where, where.key)
    if entries is None:
        return None

    fields: dict[str, yaml.Node] = {}
    for key, key_node, value_node in entries:
        if key in allowed:
            fields[key] = value_node
        else:
            where.key(key).problem(key_node, _unknown_key(key, allowed))
    return fields


def _unknown_key(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return f"unknown key; allowed here: {', '.join(allowed)}"


def _mapping_entries(
    node: yaml.Node, where: _Where, entry_where: Callable[[str], _Where]
) -> list[tuple[str, yaml.Node, yaml.Node]] | None:
    """Return (key, key node, value node) in file order; an empty value is {}."""
    if not _plain_tag(node, where):
        return None
    if _is_null(node):
        return []
    if not isinstance(node, yaml.MappingNode):
        where.problem(node, f"must be a mapping, not {_describe(node)}")
        return None

    entries: list[tuple[str, yaml.Node, yaml.Node]] = []
    first_lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = _key_text(key_node, where)
        if key is None:
            continue
        if key in first_lines:
            # PyYAML would silently keep the last of two equal keys.
            message = f"defined twice (first on line {first_lines[key]})"
            entry_where(key).problem(key_node, message)
            continue
        first_lines[key] = key_node.start_mark.line + 1
        entries.append((key, key_node, value_node))
    return entries


def _key_text(node: yaml.Node, where: _Where) -> str | None:
    if isinstance(node, yaml.ScalarNode) and not _is_null(node):
        return _scalar_text(node, where)
    shape = "empty" if _is_null(node) else _describe(node)
    where.problem(node, f"has a key that is {shape}; keys must be names")
    return None


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return repr(node.value)


def _plain_tag(node: yaml.Node, where: _Where) -> bool:
    if node.tag in PLAIN_TAGS:
        return True
    if node.tag == MERGE_TAG:
        message = "YAML merge keys ('<<') are not supported; use 'defaults' instead"
    else:
        message = f"YAML tag '{node.tag}' is not allowed"
    where.problem(node, message)
    return False


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


def _scalar_text(node: yaml.Node, where: _Where) -> str | None:
    """Return a scalar's text as written, or report why it is not a plain scalar."""
    if not _plain_tag(node, where):
        return None
    if not isinstance(node, yaml.ScalarNode):
        where.problem(node, f"must be a single value, not {_describe(node)}")
        return None
    if node.tag == NULL_TAG:
        where.problem(node, "has no value")
        return None
    return str(node.value)


def _read_string(node: yaml.Node, where: _Where) -> str | None:
    text = _scalar_text(node, where)
    if text is None:
        return None
    if node.tag != STRING_TAG:
        where.problem(node, f"must be a string; write {text!r} in quotes")
        return None
    return text


def _read_url(node: yaml.Node, where: _Where) -> str | None:
    url = _read_string(node, where)
    if url is None:
        return None
    problem = _url_problem(url)
    if problem is not None:
        where.problem(node, problem)
        return None
    return url


def _url_problem(url: str) -> str | None:
    if any(character.isspace() or not character.isprintable() for character in url):
        return f"{url!r} contains spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError as error:
        return f"{url!r} is not a valid URL: {error}"
    if parts.scheme not in ("http", "https"):
        return f"{url!r} must start with http:// or https://"
    if not parts.hostname:
        return f"{url!r} has no host"
    if parts.username is not None or parts.password is not None:
        # The URL is exported as a label of statuspage_provider_info.
        return "must not contain credentials, which would be published in metrics"
    return None


def _read_duration(node: yaml.Node, where: _Where) -> float | None:
    text = _scalar_text(node, where)
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        if "too long" in str(error):
            where.problem(node, f"{text!r} is too long: durations are at most 365d")
        else:
            where.problem(
                node, f"{text!r} is not a duration such as 500ms, 30s or 1h30m"
            )
        return None
    if seconds <= 0:
        where.problem(node, "must be longer than zero")
        return None
    return seconds


def _read_format(node: yaml.Node, where: _Where) -> str | None:
    text = _read_string(node, where)
    if text is None:
        return None
    if text not in FEED_FORMATS:
        where.problem(node, f"{text!r} is not one of {', '.join(FEED_FORMATS)}")
        return None
    return text


def _read_body_size(node: yaml.Node, where: _Where) -> int | None:
    text = _scalar_text(node, where)
    if text is None:
        return None
    match = BYTE_SIZE.fullmatch(text)
    if match is None or match[2] not in BYTE_UNITS:
        units = ", ".join(unit for unit in BYTE_UNITS if unit)
        message = f"{text!r} is not a size: write bytes, or a number with {units}"
        where.problem(node, message)
        return None
    size = int(match[1]) * BYTE_UNITS[match[2]]
    if size <= 0:
        where.problem(node, "must be larger than zero")
        return None
    return size


def _read_display_name(node: yaml.Node, where: _Where) -> str | None:
    text = _read_string(node, where)
    if text is not None and not text.strip():
        where.problem(node, "must not be empty")
        return None
    return text


def _read_headers(node: yaml.Node, where: _Where) -> Pairs:
    """Return the valid request headers, sorted; report the others."""
    headers: dict[str, tuple[str, str]] = {}
    header_where = _item_where(where, "header")
    for name, key_node, value_node in _mapping_entries(node, where, header_where) or ():
        value = _read_header_value(value_node, header_where(name))
        if not HEADER_NAME.fullmatch(name):
            header_where(name).problem(key_node, "is not a valid HTTP header name")
        elif name.lower() in headers:
            message = "repeats a header already given (header names ignore case)"
            header_where(name).problem(key_node, message)
        elif value is not None:
            headers[name.lower()] = (name, value)
    return tuple(sorted(headers.values()))


def _read_header_value(node: yaml.Node, where: _Where) -> str | None:
    value = _read_string(node, where)
    # A line break in a value would let the config smuggle in extra headers.
    if value is not None and not value.isprintable():
        where.problem(node, "contains line breaks or control characters")
        return None
    return value


def _read_labels(node: yaml.Node, where: _Where) -> Pairs:
    """Return the valid user labels, sorted; report the others."""
    labels: list[tuple[str, str]] = []
    label_where = _item_where(where, "label")
    for name, key_node, value_node in _mapping_entries(node, where, label_where) or ():
        value = _read_string(value_node, label_where(name))
        problem = _label_name_problem(name)
        if problem is not None:
            label_where(name).problem(key_node, problem)
        elif value is not None:
            labels.append((name, value))
    return tuple(sorted(labels))


def _label_name_problem(name: str) -> str | None:
    if not LABEL_NAME.fullmatch(name):
        return "is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"
    if name.startswith("__"):
        return "names starting with '__' are reserved by Prometheus"
    if name in RESERVED_LABELS:
        return "is already a label of the exporter's own metrics"
    if name in TARGET_LABELS:
        return "is set by Prometheus on every scraped series (job, instance)"
    return None


def _item_where(where: _Where, item: str) -> Callable[[str], _Where]:
    return lambda name: where.within(f"{item} '{name}'")
