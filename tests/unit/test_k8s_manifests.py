"""deploy/k8s renders (base and every overlay), every object is valid for Kubernetes (kubernetes-validate,
offline schemas, strict), and the deployment has the parts operators rely on."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from services.cli.keys import event_keys_for
from services.cli.redis_users import redis_user
from services.cli.secret_files import PG_ROLES
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
    assert set(objects["Secret", "portal-secrets"]["stringData"]) == {"PORTAL_INTERNAL_SECRET"}


def test_each_process_gets_its_own_credentials_and_only_its_event_keys():
    """No pod is given the event master key; each Deployment (and the migrate Job) reads a Secret of its own
    holding exactly the pair keys the code gives that process, its own Redis ACL user and PostgreSQL roles."""
    objects = by_kind(build(K8S / "base"))
    workloads = {name: doc for (kind, name), doc in objects.items() if kind in ("Deployment", "Job")}
    for (kind, name), doc in objects.items():
        if kind == "Secret":
            assert "PORTAL_EVENT_MASTER_KEY" not in doc["stringData"], name
    for name, doc in workloads.items():
        process = "web-web" if name == "web" else name
        for c in pod(doc)["containers"]:
            refs = [r["secretRef"]["name"] for r in c["envFrom"] if "secretRef" in r]
            assert refs == ["portal-secrets", f"portal-{name}"], name
        secret = objects["Secret", f"portal-{name}"]["stringData"]
        assert {k for k in secret if k.startswith("PORTAL_EVENT_KEY_")} == event_keys_for(process), name
        user = "portal" if name == "migrate" else redis_user(process)
        assert secret["REDIS_URL"].startswith(f"redis://{user}:"), name
        roles = {re.match(r"postgresql\+psycopg://([^:]+):", v).group(1) for k, v in secret.items()
                 if k.endswith("_URL") and v.startswith("postgresql")}
        assert roles <= set(PG_ROLES), name
        if name.startswith("audit-"):
            assert secret["AUDIT_DATABASE_URL"].startswith("postgresql+psycopg://audit_writer:"), name
    retention = objects["Secret", "portal-scheduler"]["stringData"]["PORTAL_AUDIT_RETENTION_DATABASE_URL"]
    assert retention.startswith("postgresql+psycopg://audit_retention:")


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


def sizing_table() -> dict[str, tuple[str, str, str, str]]:
    """docs/operations.md's table of resources: the figures the manifests must carry."""
    text = (REPO / "docs" / "operations.md").read_text()
    section = text.split("### Resources", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and re.fullmatch(r"\d+m?", cells[1]):
            for name in (n.strip("`") for n in cells[0].split(", ")):
                rows[name] = (cells[1], cells[2], cells[3], cells[4])
    return rows


def test_every_container_is_sized_as_docs_operations_says():
    table = sizing_table()
    objects = by_kind(build(K8S / "base"))
    sized = {}
    for (kind, name), doc in objects.items():
        if kind in ("Deployment", "Job"):
            res = pod(doc)["containers"][0]["resources"]
            sized[name] = (str(res["requests"]["cpu"]), res["requests"]["memory"], str(res["limits"]["cpu"]),
                           res["limits"]["memory"])
    assert sized == table


def test_the_audit_keys_come_from_a_secret_volume_the_private_key_only_where_audit_signs():
    objects = by_kind(build(K8S / "base"))
    assert set(objects["Secret", "portal-audit-keys"]["stringData"]) == {"audit-signing.pem", "audit-signing.pub"}
    signers, readers = {"audit-worker", "scheduler"}, {"audit-web", "relay", "migrate"}
    for (kind, name), doc in objects.items():
        if kind not in ("Deployment", "Job"):
            continue
        spec = pod(doc)
        env = {e["name"]: e.get("value") for e in spec["containers"][0].get("env", [])}
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        secret_keys = {i["key"] for v in volumes.values()
                       if v.get("secret", {}).get("secretName") == "portal-audit-keys" for i in v["secret"]["items"]}
        if name not in signers | readers:
            assert not secret_keys and "PORTAL_AUDIT_PUBLIC_KEY_FILE" not in env, name
            continue
        mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
        public = env["PORTAL_AUDIT_PUBLIC_KEY_FILE"]
        assert volumes[mounts[public.rsplit("/", 1)[0]]]["secret"]["secretName"] == "portal-audit-keys", name
        if name in readers:
            assert secret_keys == {"audit-signing.pub"} and "PORTAL_AUDIT_SIGNING_KEY_FILE" not in env, name
            continue
        # audit refuses a private key that others may read (services/audit/config.py), and a Secret volume's
        # files are group-readable under fsGroup: an init container copies it, mode 0600, into memory.
        private = env["PORTAL_AUDIT_SIGNING_KEY_FILE"]
        assert volumes[mounts[private.rsplit("/", 1)[0]]]["emptyDir"]["medium"] == "Memory", name
        init = spec["initContainers"][0]
        assert init["image"] == spec["containers"][0]["image"]
        assert private in init["command"][-1] and "0o600" in init["command"][-1], name
        assert secret_keys == {"audit-signing.pub", "audit-signing.pem"}, name


def test_the_init_container_writes_a_key_audit_accepts(tmp_path: Path):
    """The init container's own command, run here: audit's settings load the copy it writes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from services.audit.config import _signer_from_file

    objects = by_kind(build(K8S / "base"))
    init = pod(objects["Deployment", "audit-worker"])["initContainers"][0]
    source_dir, target_dir = tmp_path / "secret", tmp_path / "key"
    source_dir.mkdir()
    target_dir.mkdir()
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    source = source_dir / "audit-signing.pem"
    source.write_bytes(pem)
    source.chmod(0o440)  # what the kubelet leaves under fsGroup
    mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
    code = init["command"][-1].replace(mounts["audit-keys"], str(source_dir)).replace(mounts["audit-key"],
                                                                                      str(target_dir))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    assert _signer_from_file(str(target_dir / "audit-signing.pem")) is not None
    with pytest.raises(Exception, match="readable by other users"):
        _signer_from_file(str(source))


def test_every_named_port_exists_and_every_pod_is_scraped_where_it_serves_metrics():
    """Probes, Services and the scrape annotations name ports the containers really have."""
    objects = by_kind(build(K8S / "base"))
    ports_of = {}
    for (kind, name), doc in objects.items():
        if kind != "Deployment":
            continue
        container = pod(doc)["containers"][0]
        ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        ports_of[name] = (doc["spec"]["selector"]["matchLabels"], ports)
        for probe in ("readinessProbe", "livenessProbe"):
            port = container.get(probe, {}).get("httpGet", {}).get("port")
            assert port is None or port in ports or port in ports.values(), (name, probe, port)
        annotations = doc["spec"]["template"]["metadata"].get("annotations") or {}
        assert annotations.get("prometheus.io/scrape") == "true", name
        assert int(annotations["prometheus.io/port"]) in ports.values(), name
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if int(annotations["prometheus.io/port"]) != 8000:  # no web tier: its own metrics listener
            assert env.get("PORTAL_METRICS_PORT") == annotations["prometheus.io/port"] or name == "gateway", name
    for (kind, name), service in objects.items():
        if kind == "Service":
            selected = [ports for labels, ports in ports_of.values() if labels == service["spec"]["selector"]]
            assert selected, name
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in selected[0], (name, port)
