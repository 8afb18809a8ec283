"""A small kustomize for the tests: the features ``deploy/k8s`` uses (resources, namespace, images,
replicas, labels) and nothing else, so a broken manifest or overlay fails without a kustomize binary.
``tests/unit/test_k8s_manifests.py`` compares it with ``kubectl kustomize`` where kubectl exists."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "replicas", "labels"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}


def build(directory: Path) -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise ValueError(f"{directory}: this renderer does not support {sorted(unknown)}")
    docs: list[dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        if path.is_dir():
            docs += build(path)
        else:
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    docs = copy.deepcopy(docs)
    for label in kustomization.get("labels", []):
        if label.get("includeSelectors"):
            raise ValueError("labels with includeSelectors are not supported")
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    if "namespace" in kustomization:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = kustomization["namespace"]
    for image in kustomization.get("images", []):
        for container in _containers(docs):
            name, _, _tag = container["image"].partition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image.get('newTag', _tag or 'latest')}"
    for replicas in kustomization.get("replicas", []):
        matched = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")
                   and d["metadata"]["name"] == replicas["name"]]
        if not matched:
            raise ValueError(f"replicas: no workload named {replicas['name']}")
        for doc in matched:
            doc["spec"]["replicas"] = replicas["count"]
    return docs


def _containers(docs: list[dict[str, Any]]):
    for doc in docs:
        spec = doc.get("spec", {})
        pod = spec.get("template", {}).get("spec") or spec.get("jobTemplate", {}).get("spec", {}).get(
            "template", {}).get("spec")
        if pod:
            yield from pod.get("containers", [])
            yield from pod.get("initContainers", [])
