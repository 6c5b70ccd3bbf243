"""Jobs (DSP0263 5.17) reflect the engine's jobs; capture makes a MachineImage (5.14.7.1)."""

from __future__ import annotations

from functional.cimi.conftest import Cloud
from functional.cimi.flows import config, create_machine, settle
from functional.cimi.support import ACTION, Cimi, operation, rels


def test_jobs_follow_the_engine(alice: Cimi, carol: Cimi, cloud: Cloud) -> None:
    url = create_machine(alice, cloud)
    response = alice.act(url, "stop")
    job_url = response.headers["CIMI-Job-URI"]
    listed = alice.entries("jobs")
    assert listed[0]["id"] == job_url  # newest first
    assert {j["action"] for j in listed} == {"add", ACTION + "stop"}
    queued = alice.get(job_url)
    assert (queued["state"], queued["progress"]) == ("QUEUED", 0)
    assert "returnCode" not in queued
    assert rels(queued) == set()
    carol.request("GET", job_url, status=404)
    assert carol.get(carol.collection("jobs"))["count"] == 0
    alice.request("POST", job_url, alice.encode("Action", {"action": ACTION + "stop"}), status=400)
    cloud.run()
    done = alice.get(job_url)
    assert (done["state"], done["progress"], done["returnCode"]) == ("SUCCESS", 100, 0)
    assert done["timeOfStatusChange"] >= queued["timeOfStatusChange"]
    succeeded = alice.entries("jobs", **{"$filter": "state='SUCCESS' and action='add'"})
    assert len(succeeded) == 1


def test_capture_through_the_machine_image_collection(alice: Cimi, cloud: Cloud) -> None:
    one = config(alice, "1GiB")["id"]
    url = create_machine(
        alice,
        cloud,
        initialState="STOPPED",
        volumeTemplates=[{"volumeTemplate": {"volumeConfig": {"href": one}}}],
    )
    machine = alice.get(url)
    images = alice.collection("machineImages")
    capture = operation(machine, ACTION + "capture")
    assert capture == images  # advertised on the Machine, POSTed to the images (5.14.7.1)
    assert operation(alice.get(images), "add") == images
    body = {"name": "golden", "description": "captured", "properties": {"from": "web"},
            "type": "IMAGE", "imageLocation": url}  # fmt: skip
    response = alice.add(capture, "MachineImage", body, status=202)
    image_url = response.headers["Location"]
    assert image_url.startswith(images + "/")
    assert alice.get(url)["state"] == "CAPTURING"
    assert alice.get(image_url)["state"] == "CREATING"
    job = alice.decode(response)
    assert job["action"] == ACTION + "capture"
    assert job["affectedResources"] == [{"href": image_url}]
    assert job["targetResource"]["href"] == url
    cloud.run()
    assert alice.get(job["id"])["state"] == "SUCCESS"
    image = alice.get(image_url)
    assert (image["state"], image["type"], image["imageLocation"]) == ("AVAILABLE", "IMAGE", url)
    assert (image["name"], image["properties"]) == ("golden", {"from": "web"})
    assert alice.get(url)["state"] == "STOPPED"
    # The same bytes, as a VolumeImage (read-only).
    volume_image = alice.get(alice.collection("volumeImages") + "/" + image_url.rsplit("/", 1)[1])
    assert volume_image["imageLocation"]["href"] == image_url
    assert rels(volume_image) == set()
    # Errors: only our Machines, only full images, only when the state allows.
    alice.add(images, "MachineImage", {"imageLocation": "http://elsewhere/disk.qcow2"}, status=400)
    alice.add(images, "MachineImage", {"imageLocation": url, "type": "SNAPSHOT"}, status=400)
    settle(alice, cloud, alice.act(url, "start"))
    assert "capture" not in rels(alice.get(url))
    alice.add(images, "MachineImage", {"name": "again", "imageLocation": url}, status=409)
    # The image can be deleted by its owner.
    assert rels(image) == {"edit", "delete"}
    alice.delete(image_url, status=200)
    alice.request("GET", image_url, status=404)
