"""Templates and Credentials: stored creation parameters (DSP0263 5.14-5.16, 1.x Address)."""

from __future__ import annotations

from functional.cimi.conftest import Cloud
from functional.cimi.flows import KEY, OTHER_KEY, settle, template
from functional.cimi.support import Cimi, operation, rels


def test_credentials_from_templates_by_reference_and_by_value(alice: Cimi, cloud: Cloud) -> None:
    templates = alice.collection("credentialTemplates")
    response = alice.add(
        templates, "CredentialTemplate", {"name": "laptop", "key": KEY}, status=201
    )
    template_url = response.headers["Location"]
    assert alice.get(template_url)["key"] == KEY
    credentials = alice.collection("credentials")
    assert operation(alice.get(credentials), "add") == credentials
    by_ref = alice.add(credentials, "CredentialCreate",
                       {"name": "laptop-key", "description": "from a template",
                        "properties": {"device": "laptop"},
                        "credentialTemplate": {"href": template_url}}, status=201)  # fmt: skip
    credential = alice.decode(by_ref)
    assert credential["id"] == by_ref.headers["Location"]
    assert (credential["name"], credential["key"]) == ("laptop-key", KEY)
    assert credential["properties"] == {"device": "laptop"}
    assert rels(credential) == {"edit", "delete"}
    by_value = alice.add(credentials, "CredentialCreate",
                         {"credentialTemplate": {"key": OTHER_KEY}}, status=201)  # fmt: skip
    assert alice.decode(by_value)["name"].startswith("credential-")
    # Names are unique per account (409); usernames and passwords are not Concord's (400).
    alice.add(
        credentials,
        "CredentialCreate",
        {"name": "laptop-key", "credentialTemplate": {"key": OTHER_KEY}},
        status=409,
    )
    alice.add(
        credentials,
        "CredentialCreate",
        {"credentialTemplate": {"username": "root", "password": "x"}},
        status=400,
    )
    alice.add(
        credentials, "CredentialCreate", {"credentialTemplate": {"key": "not a key"}}, status=400
    )
    assert alice.get(credentials)["count"] == 2

    # A Machine created with a Credential by reference.
    body = {"machineTemplate": template(alice, credential={"href": credential["id"]})}
    settle(alice, cloud, alice.add(alice.collection("machines"), "MachineCreate", body, status=202))

    # Edit and delete.
    alice.put(credential["id"], "Credential", {"name": "renamed"}, select="name")
    assert alice.get(credential["id"])["name"] == "renamed"
    alice.put(credential["id"], "Credential", {"key": OTHER_KEY}, select="key", status=400)
    alice.delete(credential["id"], status=200)
    alice.request("GET", credential["id"], status=404)
    alice.delete(template_url, status=200)


def test_machine_template_crud_and_partial_update(alice: Cimi, cloud: Cloud) -> None:
    templates = alice.collection("machineTemplates")
    body = {"name": "t", "description": "d", "initialState": "STOPPED", **template(alice)}
    response = alice.add(templates, "MachineTemplate", body, status=201)
    url = response.headers["Location"]
    stored = alice.get(url)
    assert stored["initialState"] == "STOPPED"
    assert rels(stored) == {"edit", "delete"}
    # Partial update: only userData changes; a selected attribute absent from the body goes.
    alice.put(url, "MachineTemplate", {"userData": "aGk="}, select="userData")
    alice.put(url, "MachineTemplate", {}, select="description,initialState")
    changed = alice.get(url)
    assert changed["userData"] == "aGk=" and changed["name"] == "t"
    assert "description" not in changed and "initialState" not in changed
    assert changed["machineConfig"] == stored["machineConfig"]
    # A full PUT replaces everything editable; required references stay required.
    alice.put(url, "MachineTemplate", {"name": "t2", **template(alice)})
    replaced = alice.get(url)
    assert replaced["name"] == "t2" and "userData" not in replaced
    alice.put(url, "MachineTemplate", {"machineImage": {"href": "http://elsewhere/i"}},
              select="machineImage", status=400)  # fmt: skip
    assert alice.get(url) == replaced
    alice.add(templates, "MachineTemplate", {"name": "incomplete"}, status=400)
    alice.delete(url, status=200)
    alice.request("GET", url, status=404)


def test_address_and_volume_templates(alice: Cimi, carol: Cimi, cloud: Cloud) -> None:
    response = alice.add(
        alice.collection("addressTemplates"),
        "AddressTemplate",
        {
            "name": "static",
            "ip": "10.1.0.50",
            "mask": "255.255.255.0",
            "defaultGateway": "10.1.0.1",
            "protocol": "IPv4",
        },
        status=201,
    )
    address = alice.get(response.headers["Location"])
    assert (address["ip"], address["defaultGateway"]) == ("10.1.0.50", "10.1.0.1")
    alice.put(address["id"], "AddressTemplate", {"ip": "10.1.0.51"}, select="ip")
    assert alice.get(address["id"])["ip"] == "10.1.0.51"
    carol.request("GET", address["id"], status=404)
    assert carol.get(carol.collection("addressTemplates"))["count"] == 0
    volume_template = alice.add(
        alice.collection("volumeTemplates"),
        "VolumeTemplate",
        {"volumeConfig": {"capacity": 2 * 1024 * 1024}},
        status=201,
    )
    assert alice.decode(volume_template)["volumeConfig"] == {"capacity": 2 * 1024 * 1024}
    # Templates are checked like any body: a by-value image is refused.
    alice.add(
        alice.collection("volumeTemplates"),
        "VolumeTemplate",
        {"volumeConfig": {"capacity": 1}, "volumeImage": {"state": "AVAILABLE"}},
        status=400,
    )


def test_configs_and_images_have_hrefs_a_person_can_type(alice: Cimi, cloud: Cloud) -> None:
    # The readable name OCCI's templates have (resource_tpl#small, os_tpl#firmware);
    # the id stays an alias.
    configs = alice.collection("machineConfigs")
    images = alice.collection("machineImages")
    listed = {c["name"]: c["id"] for c in alice.entries("machineConfigs")}
    assert listed["small"] == f"{configs}/small"
    assert alice.get(f"{configs}/small")["cpu"] == 1
    assert alice.get(f"{configs}/{cloud.ids['small']}")["id"] == f"{configs}/small"
    assert {i["id"] for i in alice.entries("machineImages")} == {f"{images}/firmware"}
    body = {
        "name": "typed",
        "machineTemplate": {
            "machineConfig": {"href": f"{configs}/small"},
            "machineImage": {"href": f"{images}/firmware"},
        },
    }
    response = alice.add(alice.collection("machines"), "MachineCreate", body, status=202)
    cloud.run()
    assert alice.get(response.headers["Location"])["cpu"] == 1
    # A MachineTemplate keeps and shows the readable hrefs.
    made = alice.add(
        alice.collection("machineTemplates"),
        "MachineTemplate",
        {"name": "t", **body["machineTemplate"]},
        status=201,
    )
    shown = alice.get(made.headers["Location"])
    assert shown["machineConfig"]["href"] == f"{configs}/small"
    assert shown["machineImage"]["href"] == f"{images}/firmware"
