"""The Dockerfile, the compose stack, the Kubernetes manifests and their README.

No container engine runs in CI, so these tests check what can be checked without
one: the files parse, every path they name exists, the image's command line and
environment are ones the exporter accepts, and its port, volume and health check
match what a running exporter does.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from tests.exporterproc import free_port, write_config
from tests.feeds import ScriptedIncident, statuspage_atom, utc
from tests.feedserver import FeedServer, wait_until

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
RULES = ROOT / "alerts" / "statuspage-rules.yml"
README = ROOT / "README.md"
CONTAINER_SECTION = "## Running in a container / Kubernetes"
ENV_PREFIX = "STATUS_PAGE_EXPORTER_"

# -- the Dockerfile ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction with its continuation lines joined."""

    keyword: str
    arguments: str


@functools.cache
def dockerfile() -> tuple[Instruction, ...]:
    instructions, pending = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    return tuple(instructions)


def instructions(keyword: str) -> list[str]:
    return [i.arguments for i in dockerfile() if i.keyword == keyword]


def runtime_stage() -> list[Instruction]:
    """Return the instructions of the last stage, the image that runs."""
    starts = [n for n, i in enumerate(dockerfile()) if i.keyword == "FROM"]
    return list(dockerfile()[starts[-1] :])


def only(keyword: str) -> str:
    """Return the arguments of the runtime stage's one `keyword` instruction."""
    (arguments,) = [i.arguments for i in runtime_stage() if i.keyword == keyword]
    return arguments


def image_env() -> dict[str, str]:
    pairs = [p for env in instructions("ENV") for p in shlex.split(env)]
    return dict(pair.split("=", 1) for pair in pairs)


def exposed_port() -> int:
    return int(only("EXPOSE"))


def volume() -> str:
    (path,) = json.loads(only("VOLUME"))
    return str(path)


def image_uid() -> int:
    return int(only("USER").split(":")[0])


def copies() -> list[tuple[list[str], str]]:
    """Return (sources, destination) of every COPY from the build context."""
    found = []
    for arguments in instructions("COPY"):
        words = shlex.split(arguments)
        if any(word.startswith("--from") for word in words):
            continue
        *sources, destination = [w for w in words if not w.startswith("--")]
        found.append((sources, destination))
    return found


def healthcheck_command() -> list[str]:
    _, _, command = only("HEALTHCHECK").partition("CMD ")
    return list(json.loads(command))


def sent_to_build(path: str) -> bool:
    """Tell whether .dockerignore lets `path` into the build context."""
    patterns = (ROOT / ".dockerignore").read_text().splitlines()
    parts = PurePosixPath(path.rstrip("/")).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for line in patterns:
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if any(fnmatch(prefix, pattern) for prefix in prefixes):
            included = negated
    return included


def pyproject_value(pattern: str) -> str:
    match = re.search(pattern, (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert match, pattern
    return match[1]


def project_version() -> str:
    return pyproject_value(r'^version = "([^"]+)"')


def test_the_image_is_built_in_two_stages_on_slim_python() -> None:
    stages = instructions("FROM")
    assert stages == ["python:3.12-slim AS build", "python:3.12-slim"]
    assert "pip wheel" in instructions("RUN")[0]
    assert "from=build" in instructions("RUN")[1]


def test_every_file_the_image_copies_exists_and_reaches_the_build_context() -> None:
    sources = [source for found, _ in copies() for source in found]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert sent_to_build(source), f".dockerignore leaves out {source}"
    assert not sent_to_build(".git")
    assert not sent_to_build("tests/test_deploy.py")


def test_the_image_runs_as_a_fixed_non_root_user() -> None:
    assert image_uid() >= 1000
    assert f"--uid {image_uid()}" in instructions("RUN")[1]


def test_state_lives_on_the_declared_volume_owned_by_the_user() -> None:
    state = PurePosixPath(image_env()[ENV_PREFIX + "STATE_PATH"])
    assert str(state.parent) == volume() == only("WORKDIR")
    assert (
        f"install -d -o exporter -g exporter -m 0750 {volume()}"
        in (instructions("RUN")[1])
    )


def test_events_go_to_standard_output() -> None:
    assert image_env()[ENV_PREFIX + "EVENTS_FILE"] == "-"


def test_the_shipped_catalogue_is_the_default_config() -> None:
    catalogue = [
        dest for sources, dest in copies() if sources == ["exporter/providers.yaml"]
    ]
    assert catalogue == [image_env()[ENV_PREFIX + "CONFIG_FILE"]]
    assert '"providers.yaml"' in pyproject_value(r"^exporter = (\[.*\])")


def test_the_entrypoint_is_the_console_script_and_serve_the_default_command() -> None:
    script = pyproject_value(r'^([\w-]+) = "exporter\.launch:main"')
    assert json.loads(only("ENTRYPOINT")) == [script]
    assert json.loads(only("CMD")) == ["serve"]


# -- the exporter's command line ---------------------------------------------------


def cli(
    *arguments: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter", *arguments],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={**os.environ, **(env or {})}, check=False,
    )  # fmt: skip


@functools.cache
def serve_help() -> str:
    answer = cli("serve", "--help")
    assert answer.returncode == 0, answer.stderr
    return " ".join(answer.stdout.split())


def accepts(arguments: list[str], env: dict[str, str] | None = None) -> str:
    """Return "" if the CLI accepts the arguments, else what it said."""
    answer = cli(*arguments, "--help", env=env)
    return "" if answer.returncode == 0 else answer.stdout + answer.stderr


def default_listen_address() -> str:
    match = re.search(r"--web\.listen-address .*?default: (\S*:\d+)\]", serve_help())
    assert match, serve_help()
    return match[1]


def default_listen_port() -> int:
    return int(default_listen_address().rsplit(":", 1)[1])


def test_the_image_command_line_is_one_the_cli_accepts() -> None:
    assert accepts(json.loads(only("CMD")), env=image_env()) == ""


def test_every_variable_the_image_sets_is_a_serve_flag() -> None:
    listed = set(re.findall(r"env var: (\w+)", serve_help()))
    ours = {name for name in image_env() if name.startswith(ENV_PREFIX)}
    assert ours and ours <= listed


def test_the_exposed_port_and_health_check_match_the_exporter_defaults() -> None:
    assert exposed_port() == default_listen_port()
    _, _, script = healthcheck_command()
    variable = ENV_PREFIX + "WEB_LISTEN_ADDRESS"
    assert f"os.environ.get('{variable}', '{default_listen_address()}')" in script
    assert "/-/healthy" in script


# -- an exporter started the way the image starts it ------------------------------


@dataclasses.dataclass
class ImageLike:
    """The exporter run with the image's command and environment, paths in tmp."""

    root: Path
    port: int
    stdout: Path
    process: subprocess.Popen[bytes]

    def host(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def status(self, path: str) -> int:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return 0


def image_like_env(root: Path, port: int) -> dict[str, str]:
    env = {
        name: str(root / value.lstrip("/")) if value.startswith("/") else value
        for name, value in image_env().items()
    }
    # A free port instead of the container's, and a first poll without delay.
    env[ENV_PREFIX + "WEB_LISTEN_ADDRESS"] = f"127.0.0.1:{port}"
    env[ENV_PREFIX + "POLL_MIN_INTERVAL"] = "100ms"
    return env


@pytest.fixture(scope="module")
def image_like(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageLike]:
    root, port = tmp_path_factory.mktemp("image"), free_port()
    env = image_like_env(root, port)
    with FeedServer() as feeds:
        incident = ScriptedIncident("inc1", "Login failures").post(
            "Investigating", "Users cannot log in.", utc("2026-03-01T10:00:00")
        )
        feeds.publish("vendor.atom", statuspage_atom([incident]))
        # The file a user mounts over the shipped catalogue.
        config = Path(env[ENV_PREFIX + "CONFIG_FILE"])
        config.parent.mkdir(parents=True)
        write_config(
            config, {"vendor": {"url": feeds.url("vendor.atom"), "interval": "1s"}}
        )
        workdir = root / only("WORKDIR").lstrip("/")
        workdir.mkdir(parents=True)
        stdout = root / "stdout"
        with stdout.open("wb") as out, (root / "stderr").open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "exporter", *json.loads(only("CMD"))],
                cwd=workdir, stdout=out, stderr=err, env=with_source_tree(env),
            )  # fmt: skip
        running = ImageLike(root, port, stdout, process)
        try:
            wait_until(lambda: _ready(running), 30, "exporter started as in the image")
            yield running
        finally:
            process.terminate()
            process.wait(10)


def with_source_tree(env: dict[str, str]) -> dict[str, str]:
    """Return the environment plus this tree on PYTHONPATH, installed or not."""
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, **env, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _ready(running: ImageLike) -> bool:
    if running.process.poll() is not None:
        raise AssertionError((running.root / "stderr").read_text())
    return running.status("/-/ready") == 200


def test_the_image_environment_sets_config_state_and_events(
    image_like: ImageLike,
) -> None:
    state = image_like.host(image_env()[ENV_PREFIX + "STATE_PATH"])
    wait_until(state.exists, 10, f"state file {state}")

    def opened_on_stdout() -> bool:
        lines = image_like.stdout.read_text().splitlines()
        return any(json.loads(line).get("event") == "opened" for line in lines)

    wait_until(opened_on_stdout, 15, "the opened event on standard output")


def run_health_check(listen_address: str) -> subprocess.CompletedProcess[bytes]:
    """Run the image's health check with the exporter's listen address set."""
    command = healthcheck_command()
    assert command[0] == "python"
    env = {**os.environ, ENV_PREFIX + "WEB_LISTEN_ADDRESS": listen_address}
    return subprocess.run(
        [sys.executable, *command[1:]], capture_output=True, timeout=30, env=env,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize("host", ["127.0.0.1", "", "0.0.0.0"])
def test_the_health_check_asks_the_address_the_exporter_listens_on(
    image_like: ImageLike, host: str
) -> None:
    answer = run_health_check(f"{host}:{image_like.port}")
    assert answer.returncode == 0, answer.stderr


def test_the_health_check_fails_where_no_exporter_listens() -> None:
    assert run_health_check(f"127.0.0.1:{free_port()}").returncode != 0


def test_the_probe_paths_answer_while_the_exporter_runs(image_like: ImageLike) -> None:
    (container,) = deployment()["spec"]["template"]["spec"]["containers"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert image_like.status(container[probe]["httpGet"]["path"]) == 200, probe


# -- compose -----------------------------------------------------------------------


@functools.cache
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def service(name: str) -> dict[str, Any]:
    return dict(compose()["services"][name])


def mounts(name: str) -> dict[str, Path]:
    """Return the bind mounts of a service: container path -> host path."""
    found = {}
    for entry in service(name).get("volumes", []):
        source, destination = entry.split(":")[:2]
        if source.startswith((".", "/")):
            found[destination] = (DEPLOY / source).resolve()
    return found


def host_path(name: str, container_path: str) -> Path:
    """Return the host file a service sees at `container_path`."""
    target = PurePosixPath(container_path)
    for destination, source in sorted(mounts(name).items(), key=lambda m: -len(m[0])):
        if target == PurePosixPath(destination) or PurePosixPath(destination) in (
            target.parents
        ):
            return source / target.relative_to(destination)
    raise AssertionError(f"{container_path} is not mounted into {name}")


def flag(name: str, flag_name: str) -> str:
    for argument in service(name)["command"]:
        if argument.startswith(f"--{flag_name}="):
            return str(argument.split("=", 1)[1])
    raise AssertionError(f"{name} has no --{flag_name}")


def rules_job() -> str:
    (job,) = set(re.findall(r'job="([^"]+)"', RULES.read_text()))
    return str(job)


def test_compose_runs_the_exporter_prometheus_alertmanager_and_grafana() -> None:
    assert set(compose()["services"]) == {
        "exporter", "prometheus", "alertmanager", "grafana"
    }  # fmt: skip
    build = service("exporter")["build"]
    assert ((DEPLOY / build["context"]).resolve() / build["dockerfile"]).is_file()


def test_every_file_compose_mounts_exists() -> None:
    for name in compose()["services"]:
        for destination, source in mounts(name).items():
            assert source.exists(), f"{name}: {source} for {destination}"


def test_compose_uses_the_image_port_and_state_volume() -> None:
    exporter = service("exporter")
    assert exporter["image"] == f"status-page-exporter:{project_version()}"
    published = [port.rsplit(":", 1)[1] for port in exporter["ports"]]
    assert published == [str(exposed_port())]
    destinations = [v.split(":")[1] for v in exporter["volumes"]]
    assert volume() in destinations


def prometheus_config() -> dict[str, Any]:
    path = host_path("prometheus", flag("prometheus", "config.file"))
    return dict(yaml.safe_load(path.read_text()))


def test_prometheus_loads_the_rules_of_alerts_and_promtool_accepts_its_config(
    tmp_path: Path,
) -> None:
    config = prometheus_config()
    rule_files = [str(host_path("prometheus", f)) for f in config["rule_files"]]
    assert rule_files == [str(RULES)]
    config["rule_files"] = rule_files
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian package prometheus)")
    check = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_prometheus_scrapes_the_exporter_under_the_job_the_rules_expect() -> None:
    jobs = {job["job_name"]: job for job in prometheus_config()["scrape_configs"]}
    (targets,) = jobs[rules_job()]["static_configs"]
    assert targets["targets"] == [f"exporter:{exposed_port()}"]
    (alertmanagers,) = prometheus_config()["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_alertmanager_reads_the_example_config_and_its_templates() -> None:
    inside = PurePosixPath(flag("alertmanager", "config.file"))
    config = host_path("alertmanager", str(inside))
    assert config == ROOT / "alerts/alertmanager.yml"
    loaded = yaml.safe_load(config.read_text())
    assert {"route", "receivers"} <= loaded.keys()
    for pattern in loaded["templates"]:
        folder = host_path("alertmanager", str((inside.parent / pattern).parent))
        assert list(folder.glob(PurePosixPath(pattern).name)), pattern


def alertmanager_secret_files() -> set[PurePosixPath]:
    """Return the secret files the example Alertmanager configuration reads."""
    config = yaml.safe_load((ROOT / "alerts/alertmanager.yml").read_text())
    return {
        PurePosixPath(settings[key])
        for receiver in config["receivers"]
        for kind in ("slack_configs", "pagerduty_configs")
        for settings in receiver.get(kind, [])
        for key in ("api_url_file", "routing_key_file")
        if key in settings
    }


def commented_secrets_mount() -> tuple[Path, PurePosixPath]:
    """Return (host folder, container folder) of the mount a user uncomments."""
    (inside,) = {path.parent for path in alertmanager_secret_files()}
    text = (DEPLOY / "compose.yaml").read_text()
    pattern = rf"^\s*#\s*- (\./[\w./-]+):{re.escape(str(inside))}:ro$"
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"compose.yaml has no commented mount of {inside}"
    return (DEPLOY / match[1]).resolve(), inside


def test_the_secrets_mount_to_uncomment_is_where_alertmanager_reads_them() -> None:
    folder, inside = commented_secrets_mount()
    assert folder == DEPLOY / "alertmanager-secrets"
    assert str(inside) not in [
        m.split(":")[1] for m in service("alertmanager")["volumes"]
    ]


def test_grafana_shows_the_provisioned_dashboards_to_anonymous_viewers() -> None:
    grafana = service("grafana")
    env = grafana["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    home = host_path("grafana", env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home == ROOT / "grafana/dashboards/status-overview.json"
    provisioning = host_path("grafana", "/etc/grafana/provisioning/dashboards")
    (provider,) = yaml.safe_load(
        (provisioning / "status-page-exporter.yaml").read_text()
    )["providers"]
    assert (
        host_path("grafana", provider["options"]["path"]) == ROOT / "grafana/dashboards"
    )
    sources = host_path("grafana", "/etc/grafana/provisioning/datasources")
    (source,) = yaml.safe_load((sources / "prometheus.yaml").read_text())["datasources"]
    assert source["url"] == "http://prometheus:9090"


# -- Kubernetes --------------------------------------------------------------------


def manifests() -> dict[str, dict[str, Any]]:
    """Return every manifest of deploy/kubernetes/ by kind."""
    found = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            assert {"apiVersion", "kind"} <= document.keys(), path.name
            found[document["kind"]] = document
    return found


def deployment() -> dict[str, Any]:
    return manifests()["Deployment"]


def test_the_kustomization_lists_every_manifest() -> None:
    listed = manifests()["Kustomization"]["resources"]
    files = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(listed) == sorted(files)
    for kind, manifest in manifests().items():
        if kind != "Kustomization":
            assert manifest["metadata"]["name"], kind


def test_the_deployment_runs_the_image_as_it_was_built() -> None:
    pod = deployment()["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == f"status-page-exporter:{project_version()}"
    assert pod["securityContext"]["runAsUser"] == image_uid()
    assert [p["containerPort"] for p in container["ports"]] == [exposed_port()]
    assert accepts(container["args"], env=image_env()) == ""
    assert deployment()["spec"]["replicas"] == 1
    assert deployment()["spec"]["strategy"]["type"] == "Recreate"


def test_the_state_volume_is_the_persistent_volume_claim() -> None:
    pod = deployment()["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mounted = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    claim = manifests()["PersistentVolumeClaim"]["metadata"]["name"]
    assert claims[mounted[volume()]] == claim


def test_the_service_and_service_monitor_reach_the_pod() -> None:
    pod_labels = deployment()["spec"]["template"]["metadata"]["labels"]
    (container,) = deployment()["spec"]["template"]["spec"]["containers"]
    service_manifest = manifests()["Service"]
    (port,) = service_manifest["spec"]["ports"]
    assert service_manifest["spec"]["selector"].items() <= pod_labels.items()
    assert port["targetPort"] in [p["name"] for p in container["ports"]]
    monitor = manifests()["ServiceMonitor"]["spec"]
    labels = service_manifest["metadata"]["labels"]
    assert monitor["selector"]["matchLabels"].items() <= labels.items()
    (endpoint,) = monitor["endpoints"]
    assert endpoint["port"] == port["name"]
    (relabel,) = endpoint["relabelings"]
    assert (relabel["targetLabel"], relabel["replacement"]) == ("job", rules_job())


def test_the_prometheus_rule_has_exactly_the_groups_of_the_rules_file() -> None:
    rules = yaml.safe_load(RULES.read_text())["groups"]
    assert manifests()["PrometheusRule"]["spec"]["groups"] == rules, (
        "run python deploy/kubernetes/prometheusrule.py"
    )


# -- the README's container section --------------------------------------------------


def container_section(text: str) -> str:
    start = text.index(CONTAINER_SECTION)
    end = text.find("\n## ", start + len(CONTAINER_SECTION))
    return text[start : end if end > 0 else len(text)]


def readme_commands() -> list[list[str]]:
    """Return the shell commands of the README's container section."""
    text = README.read_text()
    assert CONTAINER_SECTION in text, f"no {CONTAINER_SECTION!r} in the README"
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", container_section(text), re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip():
                commands.append(shlex.split(line))
    return commands


def readme_scrape_configs() -> list[dict[str, Any]]:
    """Return the Prometheus scrape configs the container section shows."""
    found = []
    section = container_section(README.read_text())
    for block in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL):
        found.extend(yaml.safe_load(block).get("scrape_configs", []))
    return found


def check_docker_run(words: list[str]) -> list[str]:
    """Return what is wrong with a `docker run` command line."""
    problems, position = [], 2
    while words[position].startswith("-"):
        option = words[position]
        value = "" if option in ("-d", "--rm", "-it") else words[position + 1]
        position += 1 if option in ("-d", "--rm", "-it") else 2
        if option == "-p" and not value.endswith(f":{exposed_port()}"):
            problems.append(f"publishes {value}")
        if option == "-v":
            destination = value.split(":")[1]
            config = image_env()[ENV_PREFIX + "CONFIG_FILE"]
            if destination not in (volume(), config):
                problems.append(f"mounts {destination}")
    image, arguments = words[position], words[position + 1 :]
    if image != f"status-page-exporter:{project_version()}":
        problems.append(f"runs {image}")
    said = accepts(arguments or json.loads(only("CMD")), env=image_env())
    return problems + ([said] if said else [])


def check_command(words: list[str], image_like: ImageLike) -> list[str]:
    """Return what is wrong with one README command (unknown commands are wrong)."""
    command = " ".join(words[:2])
    if command == "docker build":
        tag = words[words.index("-t") + 1]
        context = ROOT / words[-1]
        ok = tag == f"status-page-exporter:{project_version()}"
        return [] if ok and (context / "Dockerfile").is_file() else [f"builds {tag}"]
    if command == "docker run":
        return check_docker_run(words)
    if words[:3] == ["docker", "compose", "-f"]:
        return [] if (ROOT / words[3]).is_file() else [f"no {words[3]}"]
    if words[:3] == ["kubectl", "apply", "-k"]:
        ok = (ROOT / words[3] / "kustomization.yaml").is_file()
        return [] if ok else [f"no kustomization in {words[3]}"]
    if words[:3] == ["kubectl", "create", "configmap"]:
        ok = f"name: {words[3]}" in (KUBERNETES / "deployment.yaml").read_text()
        return [] if ok else [f"deployment.yaml does not name {words[3]}"]
    if words[:2] == ["install", "-d"]:
        return check_secrets_folder(words)
    if words[0] == "printf":
        return check_secret_file(words)
    if words[0] == "curl":
        path = "/" + words[-1].split(f"localhost:{exposed_port()}/", 1)[1]
        return [] if image_like.status(path) == 200 else [f"{path} does not answer"]
    return ["not a command this test knows"]


def check_secrets_folder(words: list[str]) -> list[str]:
    """Check `install -d -m MODE FOLDER`: the folder compose would mount."""
    folder, _ = commented_secrets_mount()
    problems = [] if (ROOT / words[-1]).resolve() == folder else [f"not {folder}"]
    return problems + ([] if words[2:4] == ["-m", "0755"] else ["unreadable"])


def check_secret_file(words: list[str]) -> list[str]:
    """Check `printf ... | install -m MODE /dev/stdin FILE`: a file Alertmanager reads
    from the mounted folder, readable by the image's user."""
    folder, inside = commented_secrets_mount()
    wanted = {inside / path.name for path in alertmanager_secret_files()}
    target = (ROOT / words[-1]).resolve()
    piped = words[words.index("|") + 1 :] if "|" in words else []
    problems = [] if target.parent == folder else [f"not in {folder}"]
    if inside / target.name not in wanted:
        problems.append(f"alertmanager.yml reads no {target.name}")
    if piped[:4] != ["install", "-m", "0644", "/dev/stdin"]:
        problems.append("not written readable by all")
    return problems


def test_the_readme_container_commands_are_what_a_user_types(
    image_like: ImageLike,
) -> None:
    commands = readme_commands()
    assert {" ".join(c[:2]) for c in commands} >= {"docker build", "docker run"}
    problems = [
        f"{shlex.join(words)}: {problem}"
        for words in commands
        for problem in check_command(words, image_like)
    ]
    assert not problems


def test_the_readme_scrape_config_uses_the_job_and_port_of_the_rules_and_image() -> (
    None
):
    scrape_configs = readme_scrape_configs()
    assert scrape_configs
    for scrape in scrape_configs:
        assert scrape["job_name"] == rules_job()
        (targets,) = scrape["static_configs"]
        for target in targets["targets"]:
            assert target.endswith(f":{exposed_port()}")
