"""deploy/k8s renders (base and every overlay), every object is valid for Kubernetes (kubernetes-validate,
offline schemas, strict), and the deployment has the parts operators rely on."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.support.kustomize import build
from tests.support.processes import REPO

K8S = REPO / "deploy" / "k8s"
OVERLAYS = sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml"))
KUBERNETES = "1.33.0"
BACKENDS = ("identity", "linking", "content", "audit")


def by_kind(docs: list[dict]) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def pod(doc: dict) -> dict:
    return doc["spec"]["template"]["spec"]


@pytest.mark.parametrize("directory", [K8S / "base", *OVERLAYS], ids=lambda p: p.name)
def test_every_object_is_valid_for_kubernetes(directory: Path):
    docs = build(directory)
    assert len(docs) > 30
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_each_service_has_web_and_worker_with_probes_limits_budgets_and_autoscalers():
    objects = by_kind(build(K8S / "base"))
    for svc in BACKENDS:
        web, worker = objects["Deployment", f"{svc}-web"], objects["Deployment", f"{svc}-worker"]
        container = pod(web)["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert f"services.{svc}.wsgi:app" in container["command"]
        assert f"services.{svc}.worker" in pod(worker)["containers"][0]["command"]
        for deployment in (web, worker):
            name = deployment["metadata"]["name"]
            for c in pod(deployment)["containers"]:
                assert c["resources"]["requests"] and c["resources"]["limits"], name
                assert {"configMapRef": {"name": "portal-config"}} in c["envFrom"]
                assert {"secretRef": {"name": "portal-secrets"}} in c["envFrom"]
            selector = deployment["spec"]["selector"]["matchLabels"]
            assert objects["PodDisruptionBudget", name]["spec"]["selector"]["matchLabels"] == selector
            assert objects["HorizontalPodAutoscaler", name]["spec"]["scaleTargetRef"]["name"] == name
        assert objects["Service", svc]["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    for path in REPO.glob("services/*/wsgi.py"):  # every web tier of the code is deployed
        assert ("Deployment", f"{path.parent.name}-web") in objects or ("Deployment", path.parent.name) in objects


def test_relay_and_scheduler_run_once_and_the_gateway_is_the_only_public_entry():
    objects = by_kind(build(K8S / "base"))
    for name in ("relay", "scheduler"):
        assert objects["Deployment", name]["spec"]["replicas"] == 1
        assert objects["Deployment", name]["spec"]["strategy"]["type"] == "Recreate"
    ingress = objects["Ingress", "portal"]
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert backends == {"gateway"}
    gateway = pod(objects["Deployment", "gateway"])
    public_ports = {p["targetPort"] for p in objects["Service", "gateway"]["spec"]["ports"]}
    assert public_ports == {"http"}  # the metrics port (9100) is not behind any Service
    assert "--bind" in gateway["containers"][0]["command"] and "0.0.0.0:9100" in gateway["containers"][0]["command"]
    config = objects["ConfigMap", "portal-config"]["data"]
    assert config["PORTAL_LOG_FORMAT"] == "json"
    secret = objects["Secret", "portal-secrets"]["stringData"]
    assert {"PORTAL_DATABASE_URL_TEMPLATE", "GATEWAY_SPOOL_URL", "REDIS_URL", "PORTAL_INTERNAL_SECRET"} <= set(secret)


@pytest.mark.parametrize("directory", OVERLAYS, ids=lambda p: p.name)
def test_overlays_set_namespace_and_registry_images(directory: Path):
    docs = build(directory)
    namespace = yaml.safe_load((directory / "kustomization.yaml").read_text())["namespace"]
    assert {d["metadata"].get("namespace") for d in docs} == {namespace}
    images = {c["image"] for d in docs if "template" in d.get("spec", {}) for c in pod(d)["containers"]}
    assert images and all(image.startswith("registry.example.com/portal/") for image in images), images


def test_the_small_renderer_agrees_with_kubectl_kustomize_where_kubectl_exists():
    kubectl = shutil.which("kubectl")
    for directory in OVERLAYS if kubectl else ():
        out = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=True,
                             timeout=60).stdout
        theirs = by_kind([d for d in yaml.safe_load_all(out) if d])
        assert theirs == by_kind(build(directory)), directory.name
