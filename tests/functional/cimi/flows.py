"""Flows the CIMI functional tests share: creating resources through CIMI and settling jobs.

Each helper discovers what it needs from the CEP (configurations, images),
as a client would, and runs the engine's jobs with ``cloud.run()``.
"""

from __future__ import annotations

from typing import Any

from functional.cimi.conftest import Cloud
from functional.cimi.support import Cimi

#: Public keys for Credentials.
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5 alice@test"
OTHER_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 bob@test"


def template(cimi: Cimi, **extra: Any) -> dict[str, Any]:
    """A by-value MachineTemplate from the first configuration and image listed."""
    configs = {c["name"]: c for c in cimi.entries("machineConfigs")}
    image = cimi.entries("machineImages")[0]
    return {
        "machineConfig": {"href": configs["small"]["id"]},
        "machineImage": {"href": image["id"]},
        **extra,
    }


def create_machine(cimi: Cimi, cloud: Cloud, name: str = "web", **extra: Any) -> str:
    """Create a Machine by value, run its job, return its href."""
    body = {"name": name, "machineTemplate": template(cimi, **extra)}
    response = cimi.add(cimi.collection("machines"), "MachineCreate", body, status=202)
    cloud.run()
    return str(response.headers["Location"])


def settle(cimi: Cimi, cloud: Cloud, response: Any) -> dict[str, Any]:
    """After a 202: the Job, queued, then successful once the jobs ran."""
    assert response.status_int == 202
    job_url = response.headers["CIMI-Job-URI"]
    job = cimi.decode(response)
    assert job["id"] == job_url
    assert job["state"] == "QUEUED"
    # Location: the affected resource (the target, or a capture's new image).
    affected = [job["targetResource"], *job.get("affectedResources", [])]
    assert {"href": response.headers["Location"]} in affected
    cloud.run()
    done = cimi.get(job_url)
    assert done["state"] == "SUCCESS", done
    assert done["returnCode"] == 0
    return done


def create_network(cimi: Cimi, cloud: Cloud, name: str = "backend") -> str:
    """Create a NetworkTemplate, then a Network by reference to it; return its href."""
    isolated = cimi.entries("networkConfigs")[0]
    assert isolated["networkType"] == "PRIVATE"
    response = cimi.add(
        cimi.collection("networkTemplates"),
        "NetworkTemplate",
        {"name": "isolated", "networkConfig": {"href": isolated["id"]}},
        status=201,
    )
    body = {"name": name, "networkTemplate": {"href": response.headers["Location"]}}
    created = cimi.add(cimi.collection("networks"), "NetworkCreate", body, status=202)
    settle(cimi, cloud, created)
    return str(created.headers["Location"])


def config(cimi: Cimi, name: str) -> dict[str, Any]:
    """The VolumeConfiguration called *name*."""
    return next(c for c in cimi.entries("volumeConfigs") if c["name"] == name)


def create_volume(cimi: Cimi, cloud: Cloud, template: dict[str, Any], name: str = "data") -> str:
    """Create a Volume from a by-value or referenced VolumeTemplate; return its href."""
    response = cimi.add(cimi.collection("volumes"), "VolumeCreate",
                        {"name": name, "volumeTemplate": template}, status=202)  # fmt: skip
    settle(cimi, cloud, response)
    return str(response.headers["Location"])
