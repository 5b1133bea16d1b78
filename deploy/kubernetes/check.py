"""Renders the kustomize overlays offline and validates them: `python deploy/kubernetes/check.py`.

No kustomize binary is needed (CI has none): this renders the subset of kustomize these
overlays use (resources, namespace, labels, images, replicas, strategic-merge patches
whose lists of containers merge by name) into ``--out`` (one YAML stream per overlay),
then checks every object against the Kubernetes API schemas with ``kubernetes-validate
--strict``. ``--checkov PATH`` also runs that checkov executable over the rendered streams
(it lives in a virtualenv of its own: it depends on a PyPI package named ``schema``).

It also checks that the image and the manifests agree on who the process is: the
Dockerfile's numeric ``USER uid:gid`` (and the ``useradd``/``groupadd`` that make it) must be
every pod's and container's ``runAsUser``/``runAsGroup`` and every pod's ``fsGroup``. A
difference runs the process as a user the image never gave its files to.
"""

from __future__ import annotations

import argparse
import copy
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DOCKERFILE = HERE.parents[1] / "Dockerfile"
OVERLAYS = ("staging", "production")


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(item, dict) and "name" in item for item in base + patch)
    ):
        by_name = {item["name"]: item for item in base}
        result = [
            merge(by_name[item["name"]], item) if item["name"] in by_name else item
            for item in patch
        ]
        patched = {item["name"] for item in patch}
        return [item for item in base if item["name"] not in patched] + result
    return copy.deepcopy(patch)


def _key(doc: dict[str, Any]) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def render(directory: Path) -> list[dict[str, Any]]:
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for resource in spec.get("resources", []):
        path = (directory / resource).resolve()
        docs += render(path) if path.is_dir() else load_all(path)
    for entry in spec.get("patches", []):
        for patch in load_all(directory / entry["path"]):
            index = next(i for i, doc in enumerate(docs) if _key(doc) == _key(patch))
            docs[index] = merge(docs[index], patch)
    for entry in spec.get("replicas", []):
        for doc in docs:
            if doc["metadata"]["name"] == entry["name"] and doc["kind"] == "Deployment":
                doc["spec"]["replicas"] = entry["count"]
    namespace = spec.get("namespace")
    for doc in docs:
        if namespace and doc["kind"] != "Namespace":
            doc["metadata"]["namespace"] = namespace
        for label in spec.get("labels", []):
            doc["metadata"].setdefault("labels", {}).update(label["pairs"])
        _set_images(doc, spec.get("images", []))
    return docs


def _set_images(doc: dict[str, Any], images: list[dict[str, str]]) -> None:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    for container in pod.get("containers", []):
        for image in images:
            if container["image"] == image["name"]:
                name = image.get("newName", image["name"])
                container["image"] = (
                    f"{name}@{image['digest']}"
                    if "digest" in image
                    else f"{name}:{image['newTag']}"
                )


def image_identity(dockerfile: Path) -> tuple[int, int]:
    """The Dockerfile's ``USER uid:gid``, numeric, as made by its useradd and groupadd."""
    text = dockerfile.read_text()
    users = re.findall(r"^USER\s+(\S+)\s*$", text, re.MULTILINE)
    if len(users) != 1 or not re.fullmatch(r"\d+:\d+", users[0]):
        raise ValueError(f"{dockerfile}: want one numeric 'USER uid:gid', found {users}")
    uid, gid = (int(part) for part in users[0].split(":"))
    made_uid = re.findall(r"useradd\b[^\n]*--uid\s+(\d+)", text)
    made_gid = re.findall(r"groupadd\b[^\n]*--gid\s+(\d+)", text)
    if made_uid != [str(uid)] or made_gid != [str(gid)]:
        raise ValueError(
            f"{dockerfile}: USER {uid}:{gid}, but useradd --uid {made_uid} and "
            f"groupadd --gid {made_gid}"
        )
    return uid, gid


def identity_mismatches(docs: list[dict[str, Any]], uid: int, gid: int) -> list[str]:
    """Every runAsUser/runAsGroup/fsGroup of the workloads that is not the image's."""
    wanted = {"runAsUser": uid, "runAsGroup": gid, "fsGroup": gid}
    found: list[str] = []
    for doc in docs:
        spec = doc.get("spec", {})
        pod = spec.get("jobTemplate", {}).get("spec", spec).get("template", {}).get("spec")
        if pod is None:
            continue
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        # The pod must say all three; a container may leave them to its pod.
        contexts = [(where, pod.get("securityContext") or {}, tuple(wanted))]
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            context = container.get("securityContext") or {}
            contexts.append((f"{where} container {container['name']}", context, ()))
        for place, context, required in contexts:
            for field, value in wanted.items():
                if field not in context:
                    if field in required:
                        found.append(f"{place}: no {field} (the image runs as {value})")
                    continue
                if context[field] != value:
                    found.append(f"{place}: {field} {context[field]}, the image's is {value}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--checkov", default=None, help="path to a checkov executable")
    parser.add_argument("--kubernetes-version", default="1.30.0")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="prakerja-k8s-"))
    out.mkdir(parents=True, exist_ok=True)
    rendered = []
    uid, gid = image_identity(DOCKERFILE)
    for overlay in OVERLAYS:
        docs = render(HERE / "overlays" / overlay)
        mismatches = identity_mismatches(docs, uid, gid)
        if mismatches:
            print(f"{overlay}: the manifests and the Dockerfile disagree on the user:")
            print("\n".join(f"  {line}" for line in mismatches))
            return 1
        target = out / f"{overlay}.yaml"
        target.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        rendered.append(target)
        print(f"{overlay}: {len(docs)} objects -> {target}")
    validate = Path(sys.executable).parent / "kubernetes-validate"
    subprocess.run(
        [str(validate), "--strict", "--quiet", "-k", args.kubernetes_version, *map(str, rendered)],
        check=True,
    )
    print("kubernetes-validate: every object matches the API schemas")
    print(f"user: every pod runs as the image's {uid}:{gid} (Dockerfile USER)")
    if args.checkov:
        command = [
            args.checkov,
            "--quiet",
            "--compact",
            "--framework",
            "kubernetes",
            "--skip-download",
        ]
        for target in rendered:
            subprocess.run([*command, "-f", str(target)], check=True)
        print("checkov: no failed check (skips are justified in the manifests' annotations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
