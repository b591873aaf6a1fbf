"""Loading and checking providers.yaml, with real files written to tmp_path."""

from __future__ import annotations

import re
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from exporter.config import (
    Config,
    ProviderConfig,
    bundled_config_path,
    load_config,
    parse_duration,
)
from exporter.errors import ConfigError

MIB = 1024 * 1024
GITHUB_FEED = "https://www.githubstatus.com/history.atom"


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "providers.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_in(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def load_text(tmp_path: Path, text: str) -> Config:
    return load_config(write_config(tmp_path, text))


# Each case: the file, where the one problem is ("LINE: provider 'x': key 'y'"),
# and words the message must contain.
PROBLEM_CASES = [
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            intervall: 2m
        """,
        "4: provider 'github': key 'intervall'",
        "unknown key; did you mean 'interval'?",
        id="misspelt-provider-key",
    ),
    pytest.param(
        """\
        defaults:
          retries: 3
        providers:
          github: {url: "https://www.githubstatus.com/history.atom"}
        """,
        "2: defaults: key 'retries'",
        "unknown key",
        id="unknown-defaults-key",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
        scrape: {}
        """,
        "4: key 'scrape'",
        "unknown key",
        id="unknown-top-level-key",
    ),
    pytest.param(
        """\
        providers:
          github:
            interval: 2m
        """,
        "2: provider 'github': key 'url'",
        "is required",
        id="missing-url",
    ),
    pytest.param(
        """\
        providers:
          github:
        """,
        "2: provider 'github': key 'url'",
        "is required",
        id="provider-with-no-settings",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: ftp://www.githubstatus.com/history.atom
        """,
        "3: provider 'github': key 'url'",
        "must start with http:// or https://",
        id="url-not-http",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https:///history.atom
        """,
        "3: provider 'github': key 'url'",
        "has no host",
        id="url-without-host",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://user:secret@www.githubstatus.com/history.atom
        """,
        "3: provider 'github': key 'url'",
        "must not contain credentials",
        id="url-with-credentials",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com:99999/history.atom
        """,
        "3: provider 'github': key 'url'",
        "is not a valid URL",
        id="url-with-bad-port",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: [https://www.githubstatus.com/history.atom]
        """,
        "3: provider 'github': key 'url'",
        "must be a single value, not a list",
        id="url-is-a-list",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            interval: 5 minutes
        """,
        "4: provider 'github': key 'interval'",
        "'5 minutes' is not a duration",
        id="interval-not-a-duration",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            interval: 60
        """,
        "4: provider 'github': key 'interval'",
        "'60' is not a duration",
        id="interval-without-unit",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            interval: 400d
        """,
        "4: provider 'github': key 'interval'",
        "'400d' is too long: durations are at most 365d",
        id="interval-over-a-year",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            interval: 0s
        """,
        "4: provider 'github': key 'interval'",
        "must be longer than zero",
        id="interval-zero",
    ),
    pytest.param(
        """\
        defaults:
          timeout: 0ms
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
        """,
        "2: defaults: key 'timeout'",
        "must be longer than zero",
        id="timeout-zero",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            format: json
        """,
        "4: provider 'github': key 'format'",
        "'json' is not one of auto, atom, rss",
        id="unknown-format",
    ),
    pytest.param(
        """\
        providers:
          GitHub:
            url: https://www.githubstatus.com/history.atom
        """,
        "2: provider 'GitHub'",
        "invalid provider name 'GitHub'",
        id="provider-name-upper-case",
    ),
    pytest.param(
        """\
        providers:
          -github:
            url: https://www.githubstatus.com/history.atom
        """,
        "2: provider '-github'",
        "invalid provider name",
        id="provider-name-leading-dash",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
          github:
            url: https://status.github.example/history.atom
        """,
        "4: provider 'github'",
        "defined twice (first on line 2)",
        id="duplicate-provider",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            url: https://status.github.example/history.atom
        """,
        "4: provider 'github': key 'url'",
        "defined twice (first on line 3)",
        id="duplicate-key-in-provider",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            labels:
              tier-1: gold
        """,
        "5: provider 'github': key 'labels': label 'tier-1'",
        "is not a Prometheus label name",
        id="label-name-with-dash",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            labels:
              __address__: x
        """,
        "5: provider 'github': key 'labels': label '__address__'",
        "reserved by Prometheus",
        id="label-name-double-underscore",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            labels:
              impact: high
        """,
        "5: provider 'github': key 'labels': label 'impact'",
        "already a label of the exporter's own metrics",
        id="label-name-used-by-exporter",
    ),
    pytest.param(
        """\
        defaults:
          labels: {status: gold}
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
        """,
        "2: defaults: key 'labels': label 'status'",
        "already a label of the exporter's own metrics",
        id="defaults-label-used-by-exporter",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            labels:
              tier: 1
        """,
        "5: provider 'github': key 'labels': label 'tier'",
        "must be a string; write '1' in quotes",
        id="label-value-number",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            labels:
              critical: yes
        """,
        "5: provider 'github': key 'labels': label 'critical'",
        "must be a string",
        id="label-value-boolean",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            labels: [tier]
        """,
        "4: provider 'github': key 'labels'",
        "must be a mapping, not a list",
        id="labels-not-a-mapping",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            headers:
              X-Api-Version: 2
        """,
        "5: provider 'github': key 'headers': header 'X-Api-Version'",
        "must be a string",
        id="header-value-number",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            headers:
              Accept Language: en
        """,
        "5: provider 'github': key 'headers': header 'Accept Language'",
        "not a valid HTTP header name",
        id="header-name-with-space",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            headers:
              Accept: "text/xml\\r\\nX-Injected: 1"
        """,
        "5: provider 'github': key 'headers': header 'Accept'",
        "line breaks or control characters",
        id="header-value-with-line-break",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            headers:
              User-Agent: a
              user-agent: b
        """,
        "6: provider 'github': key 'headers': header 'user-agent'",
        "header names ignore case",
        id="header-repeated-in-other-case",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            name: "  "
        """,
        "4: provider 'github': key 'name'",
        "must not be empty",
        id="display-name-blank",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            max_body_size: 5 potatoes
        """,
        "4: provider 'github': key 'max_body_size'",
        "'5 potatoes' is not a size",
        id="body-size-unknown-unit",
    ),
    pytest.param(
        """\
        defaults:
          max_body_size: 0
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
        """,
        "2: defaults: key 'max_body_size'",
        "must be larger than zero",
        id="body-size-zero",
    ),
    pytest.param(
        """\
        providers:
          ? [github, gitlab]
          : {url: "https://www.githubstatus.com/history.atom"}
        """,
        "2: key 'providers'",
        "has a key that is a list; keys must be names",
        id="provider-key-is-a-list",
    ),
    pytest.param(
        """\
        providers:
        """,
        "1: key 'providers'",
        "no providers configured",
        id="providers-empty",
    ),
    pytest.param(
        """\
        providers: {}
        """,
        "1: key 'providers'",
        "no providers configured",
        id="providers-empty-mapping",
    ),
    pytest.param(
        """\
        defaults:
          interval: 2m
        """,
        "1",
        "no providers configured",
        id="providers-missing",
    ),
    pytest.param(
        """\
        providers:
          - url: https://www.githubstatus.com/history.atom
        """,
        "2: key 'providers'",
        "must be a mapping, not a list",
        id="providers-is-a-list",
    ),
    pytest.param(
        """\
        - providers
        """,
        "1",
        "the file must be a mapping with a 'providers' key",
        id="file-is-a-list",
    ),
    pytest.param(
        """\
        providers:
          github: {url: "https://www.githubstatus.com/history.atom"
        """,
        "3",
        "not valid YAML",
        id="file-not-yaml",
    ),
    pytest.param(
        """\
        providers:
          github: {url: "https://www.githubstatus.com/history.atom"}
        ---
        providers: {}
        """,
        "3",
        "not valid YAML",
        id="two-documents",
    ),
    pytest.param(
        """\
        providers:
          github:
            url: !!python/object/apply:os.system ["touch pwned"]
        """,
        "3: provider 'github': key 'url'",
        "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed",
        id="python-tag",
    ),
    pytest.param(
        """\
        defaults: &common {interval: 2m}
        providers:
          github:
            <<: *common
            url: https://www.githubstatus.com/history.atom
        """,
        "4: provider 'github'",
        "merge keys ('<<') are not supported",
        id="merge-key",
    ),
]


@pytest.mark.parametrize(("text", "where", "words"), PROBLEM_CASES)
def test_problem_names_file_line_provider_and_key(
    tmp_path: Path, text: str, where: str, words: str
) -> None:
    path = write_config(tmp_path, text)
    problems = problems_in(path)

    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{where}: "), problems
    assert words in problems[0]


def test_python_tag_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write_config(
        tmp_path,
        f"""\
        providers:
          github:
            url: !!python/object/apply:os.system ["touch {marker}"]
        """,
    )

    problems_in(path)

    assert not marker.exists()


def test_every_problem_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """\
        defaults:
          interval: often
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            labels: {tier: 1}
          openai:
            url: status.openai.com/feed.atom
            timeot: 5s
          github:
            url: https://www.githubstatus.com/history.atom
        """,
    )

    problems = problems_in(path)

    assert [problem.split(": ", 2)[:2] for problem in problems] == [
        [f"{path}:2", "defaults"],
        [f"{path}:6", "provider 'github'"],
        [f"{path}:8", "provider 'openai'"],
        [f"{path}:9", "provider 'openai'"],
        [f"{path}:10", "provider 'github'"],
    ]
    assert "key 'interval': 'often' is not a duration" in problems[0]
    assert "key 'labels': label 'tier': must be a string" in problems[1]
    assert "key 'url': 'status.openai.com/feed.atom' must start with" in problems[2]
    assert "key 'timeot': unknown key; did you mean 'timeout'?" in problems[3]
    assert "defined twice (first on line 4)" in problems[4]


def test_config_error_message_lists_every_problem(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """\
        providers:
          a: {url: "ftp://a.example/feed"}
          b: {url: "ftp://b.example/feed"}
        """,
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 2


def test_missing_file_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    assert problems_in(path) == [
        f"{path}: cannot read the file: No such file or directory"
    ]


def test_directory_is_one_problem(tmp_path: Path) -> None:
    problems = problems_in(tmp_path)

    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path}: cannot read the file: ")


def test_empty_file_has_no_providers(tmp_path: Path) -> None:
    path = write_config(tmp_path, "# nothing yet\n")

    assert problems_in(path) == [f"{path}: the file is empty: no providers configured"]


def test_file_that_is_not_utf8_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "providers.yaml"
    path.write_bytes(b"providers:\n  github:\n    url: \xff\xfe\n")

    problems = problems_in(path)

    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: not valid YAML: ")


def test_file_over_ten_mib_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "providers.yaml"
    with path.open("wb") as file:
        file.write(b"providers:\n" + b"#" * (20 * MIB))

    started = time.monotonic()
    problems = problems_in(path)

    assert time.monotonic() - started < 0.5
    assert problems == [f"{path}: the file is larger than 10 MiB; refusing to read it"]


BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


BOMB_UNDER_LABELS = f"""\
providers:
  github:
    url: https://www.githubstatus.com/history.atom
    labels:
{textwrap.indent(BILLION_LAUGHS, "      ")}"""


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param(
            BILLION_LAUGHS + "providers: {}\n",
            "key 'i': unknown key",
            id="top-level",
        ),
        pytest.param(
            BOMB_UNDER_LABELS,
            "label 'i': must be a single value, not a list",
            id="under-labels",
        ),
    ],
)
def test_yaml_bomb_fails_cleanly_and_quickly(
    tmp_path: Path, text: str, words: str
) -> None:
    path = write_config(tmp_path, text)

    started = time.monotonic()
    problems = problems_in(path)

    assert time.monotonic() - started < 1
    assert any(words in problem for problem in problems), problems


def test_deeply_nested_yaml_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "providers: " + "[" * 100_000 + "]" * 100_000)

    problems = problems_in(path)

    assert len(problems) == 1
    assert "nested deeper than" in problems[0]


def test_yaml_with_too_many_nodes_is_refused_quickly(tmp_path: Path) -> None:
    path = write_config(tmp_path, "providers: [" + "1, " * 1_000_000 + "1]\n")

    started = time.monotonic()
    problems = problems_in(path)

    assert time.monotonic() - started < 5
    assert len(problems) == 1
    assert "YAML nodes; this is not a providers file" in problems[0]


def test_bundled_catalogue_loads_with_over_sixty_https_feeds() -> None:
    config = load_config(bundled_config_path())
    urls = [provider.url for provider in config.providers]

    assert len(config.providers) >= 60
    assert len(set(urls)) == len(urls)
    assert all(urlsplit(url).scheme == "https" for url in urls)
    assert all(re.fullmatch(r"[a-z0-9-]+", p.name) for p in config.providers)


def test_bundled_catalogue_polls_every_five_minutes() -> None:
    config = load_config(bundled_config_path())

    assert {provider.interval for provider in config.providers} == {300.0}
    assert {provider.timeout for provider in config.providers} == {10.0}
    assert config.provider("github").display_name == "GitHub"
    assert ("tier", "critical") in config.provider("aws").labels


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30.0),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1m30s", 90.0),
        ("1h0m0s250ms", 3600.25),
        ("7d", 604800.0),
    ],
)
def test_duration_parses_to_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", "60", "1.5s", "-1s", "5 m", " 5m", "2M", "1w", "30m1h", "1h1h", "ms", "1h30"],
)
def test_malformed_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_defaults_apply_and_a_provider_overrides_them(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        defaults:
          interval: 5m
          timeout: 20s
          format: atom
          max_body_size: 1MiB
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
          aws:
            url: https://status.aws.amazon.com/rss/all.rss
            name: AWS
            interval: 1h30m
            timeout: 500ms
            format: rss
            max_body_size: 512KiB
        """,
    )

    assert config.provider("github") == ProviderConfig(
        name="github",
        url=GITHUB_FEED,
        interval=300.0,
        timeout=20.0,
        format="atom",
        headers=(),
        display_name="github",
        labels=(),
        max_body_bytes=MIB,
    )
    aws = config.provider("aws")
    assert (aws.interval, aws.timeout, aws.format) == (5400.0, 0.5, "rss")
    assert (aws.display_name, aws.max_body_bytes) == ("AWS", 512 * 1024)


def test_built_in_defaults_apply_without_a_defaults_section(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
        """,
    )

    github = config.provider("github")
    assert (github.interval, github.timeout, github.format) == (60.0, 10.0, "auto")
    assert github.max_body_bytes == 5 * MIB


@pytest.mark.parametrize(
    ("written", "size"),
    [("5MiB", 5 * MIB), ("512KiB", 512 * 1024), ("1MB", 1_000_000), ("4096", 4096)],
)
def test_body_size_accepts_units_and_plain_bytes(
    tmp_path: Path, written: str, size: int
) -> None:
    config = load_text(
        tmp_path,
        f"""\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            max_body_size: {written}
        """,
    )

    assert config.provider("github").max_body_bytes == size


def test_labels_come_back_sorted_and_merged_with_defaults(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        defaults:
          labels: {team: platform, env: prod}
        providers:
          openai:
            url: https://status.openai.com/feed.atom
            labels:
              tier: critical
              team: payments
          github:
            url: https://www.githubstatus.com/history.atom
            labels: {env: ""}
        """,
    )

    assert config.provider("openai").labels == (
        ("env", "prod"),
        ("team", "payments"),
        ("tier", "critical"),
    )
    assert config.provider("github").labels == (("team", "platform"),)


def test_headers_come_back_sorted_and_merged_ignoring_case(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        defaults:
          headers: {User-Agent: exporter/1, Accept: application/atom+xml}
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            headers: {user-agent: exporter/2, X-Team: sre}
        """,
    )

    assert config.provider("github").headers == (
        ("Accept", "application/atom+xml"),
        ("X-Team", "sre"),
        ("user-agent", "exporter/2"),
    )


def test_providers_keep_file_order_and_reload_compares_equal(tmp_path: Path) -> None:
    text = """\
        providers:
          zoom: {url: "https://www.zoomstatus.com/history.atom"}
          aws: {url: "https://status.aws.amazon.com/rss/all.rss"}
          github: {url: "https://www.githubstatus.com/history.atom"}
        """

    first = load_text(tmp_path, text)
    second = load_text(tmp_path, text)

    assert [provider.name for provider in first.providers] == ["zoom", "aws", "github"]
    assert first == second
    assert first.path == str(tmp_path / "providers.yaml")


def test_unknown_provider_lookup_raises_key_error(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        providers:
          github: {url: "https://www.githubstatus.com/history.atom"}
        """,
    )

    with pytest.raises(KeyError):
        config.provider("gitlab")


def test_interval_shorter_than_timeout_is_allowed(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            interval: 5s
            timeout: 30s
        """,
    )

    assert config.provider("github").interval == 5.0


def test_anchors_and_aliases_within_limits_still_work(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        providers:
          github:
            url: https://www.githubstatus.com/history.atom
            labels: &critical {tier: critical}
          aws:
            url: https://status.aws.amazon.com/rss/all.rss
            labels: *critical
        """,
    )

    assert config.provider("aws").labels == (("tier", "critical"),)


@pytest.mark.parametrize("text", ["366d", "9" * 300 + "s", "1000000h"])
def test_durations_longer_than_a_year_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration(text)


@pytest.mark.parametrize("label", ["job", "instance", "components"])
def test_labels_that_prometheus_or_the_exporter_set_are_refused(
    tmp_path: Path, label: str
) -> None:
    config = tmp_path / "providers.yaml"
    config.write_text(
        "providers:\n  acme:\n    url: https://status.acme.test/history.atom\n"
        f"    labels:\n      {label}: x\n"
    )
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert f"label '{label}'" in refused.value.problems[0]


def test_provider_without_url_still_gets_its_other_keys_checked(tmp_path: Path) -> None:
    config = tmp_path / "providers.yaml"
    config.write_text("providers:\n  acme:\n    interval: 2y\n    format: json\n")
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    text = "\n".join(refused.value.problems)
    assert "key 'url': is required" in text
    assert "key 'interval'" in text and "key 'format'" in text
