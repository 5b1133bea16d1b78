"""The image and the Kubernetes manifests run the gateway as one and the same user."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.kubernetes.check import (
    DOCKERFILE,
    HERE,
    OVERLAYS,
    identity_mismatches,
    image_identity,
    render,
)


def test_every_pod_runs_as_the_dockerfile_user() -> None:
    uid, gid = image_identity(DOCKERFILE)
    assert uid != 0 and gid != 0
    for overlay in OVERLAYS:
        assert identity_mismatches(render(HERE / "overlays" / overlay), uid, gid) == []


def test_a_manifest_with_another_user_is_caught() -> None:
    uid, gid = image_identity(DOCKERFILE)
    docs = render(HERE / "overlays" / "production")
    worker = next(doc for doc in docs if doc["metadata"]["name"] == "prakerja-worker")
    pod = worker["spec"]["template"]["spec"]
    pod["securityContext"]["fsGroup"] = gid + 1
    pod["containers"][0]["securityContext"]["runAsUser"] = uid + 1
    del pod["securityContext"]["runAsGroup"]
    found = identity_mismatches(docs, uid, gid)
    assert found == [
        f"Deployment/prakerja-worker: no runAsGroup (the image runs as {gid})",
        f"Deployment/prakerja-worker: fsGroup {gid + 1}, the image's is {gid}",
        f"Deployment/prakerja-worker container worker: runAsUser {uid + 1}, the image's is {uid}",
    ]


@pytest.mark.parametrize(
    ("dockerfile", "complaint"),
    [
        ("RUN groupadd --system --gid 10001 app && useradd --uid 10001 app\nUSER app\n", "numeric"),
        ("RUN groupadd --gid 10001 a && useradd --uid 10002 a\nUSER 10001:10001\n", "useradd"),
        ("RUN useradd --uid 10001 a\n", "numeric"),
    ],
)
def test_a_dockerfile_whose_user_is_not_fixed_is_refused(
    tmp_path: Path, dockerfile: str, complaint: str
) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile)
    with pytest.raises(ValueError, match=complaint):
        image_identity(path)
