"""Documents written by hand in the CIMI 1.x wire form (DSP0263 1.x, cimi.md 2.5).

They anchor the tables (and so the generated schemas) to the spec: each pair
(XML, JSON) must decode to the same neutral value, re-encode to the same
document, and satisfy the schemas. XML arrays are bare repeated elements
(``<operation/>*``, ``<property key=..>*``, ``<MachineConfiguration>*`` directly
under ``<Collection>``); the DSP0263 2.0.0 wrapped form of the same documents
must still decode to the same values.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from lxml import etree

from cimi import schemas
from cimi.codec import json as json_codec
from cimi.codec import xml as xml_codec
from cimi.resources import table

CEP_XML = """
<CloudEntryPoint xmlns="http://schemas.dmtf.org/cimi/1">
  <id>http://cloud.test/cimi/cloudEntryPoint</id>
  <name>concord</name>
  <description>Concord demo zone</description>
  <created>2016-07-27T10:00:00Z</created>
  <baseURI>http://cloud.test/cimi/</baseURI>
  <resourceMetadata href="http://cloud.test/cimi/resourceMetadata"/>
  <machines href="http://cloud.test/cimi/machines"/>
  <machineConfigs href="http://cloud.test/cimi/machineConfigs"/>
  <volumes href="http://cloud.test/cimi/volumes"/>
  <jobs href="http://cloud.test/cimi/jobs"/>
    <operation rel="edit" href="http://cloud.test/cimi/cloudEntryPoint"/>
</CloudEntryPoint>
"""
CEP_JSON = {
    "resourceURI": "http://schemas.dmtf.org/cimi/1/CloudEntryPoint",
    "id": "http://cloud.test/cimi/cloudEntryPoint",
    "name": "concord",
    "description": "Concord demo zone",
    "created": "2016-07-27T10:00:00Z",
    "baseURI": "http://cloud.test/cimi/",
    "resourceMetadata": {"href": "http://cloud.test/cimi/resourceMetadata"},
    "machines": {"href": "http://cloud.test/cimi/machines"},
    "machineConfigs": {"href": "http://cloud.test/cimi/machineConfigs"},
    "volumes": {"href": "http://cloud.test/cimi/volumes"},
    "jobs": {"href": "http://cloud.test/cimi/jobs"},
    "operations": [{"rel": "edit", "href": "http://cloud.test/cimi/cloudEntryPoint"}],
}

MACHINE_XML = """
<Machine xmlns="http://schemas.dmtf.org/cimi/1">
  <id>http://cloud.test/cimi/machines/7</id>
  <name>web1</name>
  <created>2016-07-27T10:00:00-05:00</created>
  <updated>2016-07-27T10:05:30.250000-05:00</updated>
  <parent>http://cloud.test/cimi/machines</parent>
    <property key="owner">alice</property>
    <property key="tier">web</property>
  <state>STARTED</state>
  <cpu>2</cpu>
  <memory>2097152</memory>
  <disks href="http://cloud.test/cimi/machines/7/disks"/>
  <cpuArch>x86_64</cpuArch>
  <volumes href="http://cloud.test/cimi/machines/7/volumes"/>
  <networkInterfaces href="http://cloud.test/cimi/machines/7/networkInterfaces"/>
    <operation rel="edit" href="http://cloud.test/cimi/machines/7"/>
    <operation rel="delete" href="http://cloud.test/cimi/machines/7"/>
    <operation rel="http://schemas.dmtf.org/cimi/1/action/stop"
               href="http://cloud.test/cimi/machines/7/stop"/>
</Machine>
"""
MACHINE_JSON = {
    "resourceURI": "http://schemas.dmtf.org/cimi/1/Machine",
    "id": "http://cloud.test/cimi/machines/7",
    "name": "web1",
    "created": "2016-07-27T10:00:00-05:00",
    "updated": "2016-07-27T10:05:30.250000-05:00",
    "parent": "http://cloud.test/cimi/machines",
    "properties": {"owner": "alice", "tier": "web"},
    "state": "STARTED",
    "cpu": 2,
    "memory": 2097152,
    "disks": {"href": "http://cloud.test/cimi/machines/7/disks"},
    "cpuArch": "x86_64",
    "volumes": {"href": "http://cloud.test/cimi/machines/7/volumes"},
    "networkInterfaces": {"href": "http://cloud.test/cimi/machines/7/networkInterfaces"},
    "operations": [
        {"rel": "edit", "href": "http://cloud.test/cimi/machines/7"},
        {"rel": "delete", "href": "http://cloud.test/cimi/machines/7"},
        {
            "rel": "http://schemas.dmtf.org/cimi/1/action/stop",
            "href": "http://cloud.test/cimi/machines/7/stop",
        },
    ],
}

CONFIGS_XML = """
<Collection xmlns="http://schemas.dmtf.org/cimi/1"
            resourceURI="http://schemas.dmtf.org/cimi/1/MachineConfigurationCollection">
  <id>http://cloud.test/cimi/machineConfigs</id>
  <count>2</count>
    <MachineConfiguration>
      <id>http://cloud.test/cimi/machineConfigs/small</id>
      <name>small</name>
      <cpu>1</cpu>
      <memory>1048576</memory>
      <disk><capacity>10485760</capacity><format>ext4</format></disk>
    </MachineConfiguration>
    <MachineConfiguration>
      <id>http://cloud.test/cimi/machineConfigs/large</id>
      <cpu>8</cpu>
      <memory>16777216</memory>
    </MachineConfiguration>
    <operation rel="add" href="http://cloud.test/cimi/machineConfigs"/>
</Collection>
"""
CONFIGS_JSON = {
    "resourceURI": "http://schemas.dmtf.org/cimi/1/MachineConfigurationCollection",
    "id": "http://cloud.test/cimi/machineConfigs",
    "count": 2,
    "machineConfigurations": [
        {
            "resourceURI": "http://schemas.dmtf.org/cimi/1/MachineConfiguration",
            "id": "http://cloud.test/cimi/machineConfigs/small",
            "name": "small",
            "cpu": 1,
            "memory": 1048576,
            "disks": [{"capacity": 10485760, "format": "ext4"}],
        },
        {
            "resourceURI": "http://schemas.dmtf.org/cimi/1/MachineConfiguration",
            "id": "http://cloud.test/cimi/machineConfigs/large",
            "cpu": 8,
            "memory": 16777216,
        },
    ],
    "operations": [{"rel": "add", "href": "http://cloud.test/cimi/machineConfigs"}],
}

RMD_XML = """
<ResourceMetadata xmlns="http://schemas.dmtf.org/cimi/1">
  <id>http://cloud.test/cimi/resourceMetadata/Machine</id>
  <name>Machine</name>
  <typeURI>http://schemas.dmtf.org/cimi/1/Machine</typeURI>
    <attribute name="zone" namespace="http://concord.test/cimi" type="string" required="false"/>
    <capability uri="http://schemas.dmtf.org/cimi/1/capability/Machine/InitialStates"
                name="InitialStates">STARTED,STOPPED</capability>
    <capability uri="http://schemas.dmtf.org/cimi/1/capability/Machine/MachineStopForce">true</capability>
    <action name="stop" uri="http://schemas.dmtf.org/cimi/1/action/stop" method="POST"/>
</ResourceMetadata>
"""
RMD_JSON = {
    "resourceURI": "http://schemas.dmtf.org/cimi/1/ResourceMetadata",
    "id": "http://cloud.test/cimi/resourceMetadata/Machine",
    "name": "Machine",
    "typeURI": "http://schemas.dmtf.org/cimi/1/Machine",
    "attributes": [
        {
            "name": "zone",
            "namespace": "http://concord.test/cimi",
            "type": "string",
            "required": False,
        }
    ],
    "capabilities": [
        {
            "name": "InitialStates",
            "uri": "http://schemas.dmtf.org/cimi/1/capability/Machine/InitialStates",
            "value": "STARTED,STOPPED",
        },
        {
            "uri": "http://schemas.dmtf.org/cimi/1/capability/Machine/MachineStopForce",
            "value": "true",
        },
    ],
    "actions": [
        {"name": "stop", "uri": "http://schemas.dmtf.org/cimi/1/action/stop", "method": "POST"}
    ],
}

EXPORT_XML = """
<Action xmlns="http://schemas.dmtf.org/cimi/1">
  <action>http://schemas.dmtf.org/cimi/1/action/export</action>
  <format>application/ovf</format>
  <destination>http://store.test/exports/web1</destination>
  <property key="user">bob</property>
</Action>
"""
EXPORT_JSON = {
    "resourceURI": "http://schemas.dmtf.org/cimi/1/Action",
    "action": "http://schemas.dmtf.org/cimi/1/action/export",
    "format": "application/ovf",
    "destination": "http://store.test/exports/web1",
    "properties": {"user": "bob"},
}

JOB_XML = """
<Job xmlns="http://schemas.dmtf.org/cimi/1">
  <id>http://cloud.test/cimi/jobs/42</id>
  <state>SUCCESS</state>
  <targetResource href="http://cloud.test/cimi/machines/7"/>
  <affectedResource href="http://cloud.test/cimi/machines/7"/>
  <affectedResource href="http://cloud.test/cimi/volumes/3"/>
  <action>http://schemas.dmtf.org/cimi/1/action/start</action>
  <returnCode>0</returnCode>
  <progress>100</progress>
  <timeOfStatusChange>2016-07-27T10:06:00Z</timeOfStatusChange>
  <nestedJob href="http://cloud.test/cimi/jobs/43"/>
</Job>
"""
JOB_JSON = {
    "resourceURI": "http://schemas.dmtf.org/cimi/1/Job",
    "id": "http://cloud.test/cimi/jobs/42",
    "state": "SUCCESS",
    "targetResource": {"href": "http://cloud.test/cimi/machines/7"},
    "affectedResources": [
        {"href": "http://cloud.test/cimi/machines/7"},
        {"href": "http://cloud.test/cimi/volumes/3"},
    ],
    "action": "http://schemas.dmtf.org/cimi/1/action/start",
    "returnCode": 0,
    "progress": 100,
    "timeOfStatusChange": "2016-07-27T10:06:00Z",
    "nestedJobs": [{"href": "http://cloud.test/cimi/jobs/43"}],
}

MACHINE_CREATE_XML = """
<MachineCreate xmlns="http://schemas.dmtf.org/cimi/1">
  <name>web2</name>
  <property key="tier">web</property>
  <machineTemplate href="http://cloud.test/cimi/machineTemplates/web">
    <initialState>STOPPED</initialState>
    <machineConfig>
      <cpu>4</cpu>
      <memory>4194304</memory>
    </machineConfig>
    <volume>
      <initialLocation>/dev/vdb</initialLocation>
      <volume href="http://cloud.test/cimi/volumes/3"/>
    </volume>
    <userData>aGVsbG8=</userData>
  </machineTemplate>
</MachineCreate>
"""
MACHINE_CREATE_JSON = {
    "resourceURI": "http://schemas.dmtf.org/cimi/1/MachineCreate",
    "name": "web2",
    "properties": {"tier": "web"},
    "machineTemplate": {
        "href": "http://cloud.test/cimi/machineTemplates/web",
        "initialState": "STOPPED",
        "machineConfig": {"cpu": 4, "memory": 4194304},
        "volumes": [
            {"initialLocation": "/dev/vdb", "volume": {"href": "http://cloud.test/cimi/volumes/3"}}
        ],
        "userData": "aGVsbG8=",
    },
}

#: The same documents in the DSP0263 2.0.0 XML form, with array wrappers
#: (``<operations><operation/></operations>``, ``<machineConfigurations>``...).
#: Concord writes the 1.x form above but must read both (cimi.resources._common).
WRAPPED_CEP_XML = """
<CloudEntryPoint xmlns="http://schemas.dmtf.org/cimi/1">
  <id>http://cloud.test/cimi/cloudEntryPoint</id>
  <name>concord</name>
  <description>Concord demo zone</description>
  <created>2016-07-27T10:00:00Z</created>
  <baseURI>http://cloud.test/cimi/</baseURI>
  <resourceMetadata href="http://cloud.test/cimi/resourceMetadata"/>
  <machines href="http://cloud.test/cimi/machines"/>
  <machineConfigs href="http://cloud.test/cimi/machineConfigs"/>
  <volumes href="http://cloud.test/cimi/volumes"/>
  <jobs href="http://cloud.test/cimi/jobs"/>
  <operations>
    <operation rel="edit" href="http://cloud.test/cimi/cloudEntryPoint"/>
  </operations>
</CloudEntryPoint>
"""
WRAPPED_MACHINE_XML = """
<Machine xmlns="http://schemas.dmtf.org/cimi/1">
  <id>http://cloud.test/cimi/machines/7</id>
  <name>web1</name>
  <created>2016-07-27T10:00:00-05:00</created>
  <updated>2016-07-27T10:05:30.250000-05:00</updated>
  <parent>http://cloud.test/cimi/machines</parent>
  <properties>
    <property key="owner">alice</property>
    <property key="tier">web</property>
  </properties>
  <state>STARTED</state>
  <cpu>2</cpu>
  <memory>2097152</memory>
  <disks href="http://cloud.test/cimi/machines/7/disks"/>
  <cpuArch>x86_64</cpuArch>
  <volumes href="http://cloud.test/cimi/machines/7/volumes"/>
  <networkInterfaces href="http://cloud.test/cimi/machines/7/networkInterfaces"/>
  <operations>
    <operation rel="edit" href="http://cloud.test/cimi/machines/7"/>
    <operation rel="delete" href="http://cloud.test/cimi/machines/7"/>
    <operation rel="http://schemas.dmtf.org/cimi/1/action/stop"
               href="http://cloud.test/cimi/machines/7/stop"/>
  </operations>
</Machine>
"""
WRAPPED_CONFIGS_XML = """
<Collection xmlns="http://schemas.dmtf.org/cimi/1"
            resourceURI="http://schemas.dmtf.org/cimi/1/MachineConfigurationCollection">
  <id>http://cloud.test/cimi/machineConfigs</id>
  <count>2</count>
  <machineConfigurations>
    <MachineConfiguration>
      <id>http://cloud.test/cimi/machineConfigs/small</id>
      <name>small</name>
      <cpu>1</cpu>
      <memory>1048576</memory>
      <disks>
        <disk><capacity>10485760</capacity><format>ext4</format></disk>
      </disks>
    </MachineConfiguration>
    <MachineConfiguration>
      <id>http://cloud.test/cimi/machineConfigs/large</id>
      <cpu>8</cpu>
      <memory>16777216</memory>
    </MachineConfiguration>
  </machineConfigurations>
  <operations>
    <operation rel="add" href="http://cloud.test/cimi/machineConfigs"/>
  </operations>
</Collection>
"""
WRAPPED_RMD_XML = """
<ResourceMetadata xmlns="http://schemas.dmtf.org/cimi/1">
  <id>http://cloud.test/cimi/resourceMetadata/Machine</id>
  <name>Machine</name>
  <typeURI>http://schemas.dmtf.org/cimi/1/Machine</typeURI>
  <attributes>
    <attribute name="zone" namespace="http://concord.test/cimi" type="string" required="false"/>
  </attributes>
  <capabilities>
    <capability uri="http://schemas.dmtf.org/cimi/1/capability/Machine/InitialStates"
                name="InitialStates">STARTED,STOPPED</capability>
    <capability uri="http://schemas.dmtf.org/cimi/1/capability/Machine/MachineStopForce">true</capability>
  </capabilities>
  <actions>
    <action name="stop" uri="http://schemas.dmtf.org/cimi/1/action/stop" method="POST"/>
  </actions>
</ResourceMetadata>
"""
WRAPPED_EXPORT_XML = """
<Action xmlns="http://schemas.dmtf.org/cimi/1">
  <action>http://schemas.dmtf.org/cimi/1/action/export</action>
  <format>application/ovf</format>
  <destination>http://store.test/exports/web1</destination>
  <properties><property key="user">bob</property></properties>
</Action>
"""
WRAPPED_MACHINE_CREATE_XML = """
<MachineCreate xmlns="http://schemas.dmtf.org/cimi/1">
  <name>web2</name>
  <properties><property key="tier">web</property></properties>
  <machineTemplate href="http://cloud.test/cimi/machineTemplates/web">
    <initialState>STOPPED</initialState>
    <machineConfig>
      <cpu>4</cpu>
      <memory>4194304</memory>
    </machineConfig>
    <volumes>
      <volume>
        <initialLocation>/dev/vdb</initialLocation>
        <volume href="http://cloud.test/cimi/volumes/3"/>
      </volume>
    </volumes>
    <userData>aGVsbG8=</userData>
  </machineTemplate>
</MachineCreate>
"""

EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "CloudEntryPoint": (CEP_XML, CEP_JSON),
    "Machine": (MACHINE_XML, MACHINE_JSON),
    "MachineConfigurationCollection": (CONFIGS_XML, CONFIGS_JSON),
    "ResourceMetadata": (RMD_XML, RMD_JSON),
    "Action": (EXPORT_XML, EXPORT_JSON),
    "Job": (JOB_XML, JOB_JSON),
    "MachineCreate": (MACHINE_CREATE_XML, MACHINE_CREATE_JSON),
}


WRAPPED: dict[str, str] = {
    "CloudEntryPoint": WRAPPED_CEP_XML,
    "Machine": WRAPPED_MACHINE_XML,
    "MachineConfigurationCollection": WRAPPED_CONFIGS_XML,
    "ResourceMetadata": WRAPPED_RMD_XML,
    "Action": WRAPPED_EXPORT_XML,
    "MachineCreate": WRAPPED_MACHINE_CREATE_XML,
}


def canonical(data: bytes | str) -> bytes:
    """The C14N form of an XML document, white space between elements dropped."""
    raw = data.encode() if isinstance(data, str) else data
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(raw, parser), method="c14n")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_xml_and_json_examples_decode_to_the_same_value(name: str) -> None:
    xml_text, json_doc = EXAMPLES[name]
    t = table(name)
    from_xml = xml_codec.decode(xml_text.encode(), t)
    from_json = json_codec.decode(json.dumps(json_doc).encode(), t)
    assert from_xml == from_json


@pytest.mark.parametrize("name", sorted(WRAPPED))
def test_the_2_0_wrapped_form_decodes_to_the_same_value(name: str) -> None:
    t = table(name)
    wrapped = xml_codec.decode(WRAPPED[name].encode(), t)
    assert wrapped == xml_codec.decode(EXAMPLES[name][0].encode(), t)
    # ... but Concord never writes it, and the XSD (1.x form) refuses it.
    assert canonical(xml_codec.encode(t, wrapped)) == canonical(EXAMPLES[name][0])
    assert schemas.xml_errors(t, etree.fromstring(WRAPPED[name].encode()))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_re_encode_to_the_same_documents(name: str) -> None:
    xml_text, json_doc = EXAMPLES[name]
    t = table(name)
    value = xml_codec.decode(xml_text.encode(), t)
    assert canonical(xml_codec.encode(t, value)) == canonical(xml_text)
    assert json.loads(json_codec.encode(t, value)) == json_doc


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_satisfy_the_schemas(name: str) -> None:
    xml_text, json_doc = EXAMPLES[name]
    t = table(name)
    assert schemas.xml_errors(t, etree.fromstring(xml_text.encode())) == []
    assert schemas.json_errors(t, json_doc) == []


def test_the_neutral_form_is_typed() -> None:
    value: dict[str, Any] = xml_codec.decode(MACHINE_XML.encode(), table("Machine"))
    assert value["cpu"] == 2
    assert value["created"] == dt.datetime(2016, 7, 27, 15, 0, tzinfo=dt.UTC)
    assert value["updated"].microsecond == 250000
    assert value["properties"] == {"owner": "alice", "tier": "web"}
    assert value["disks"] == {"href": "http://cloud.test/cimi/machines/7/disks"}
    assert "resourceURI" not in value
    rmd = xml_codec.decode(RMD_XML.encode(), table("ResourceMetadata"))
    assert rmd["attributes"][0]["required"] is False


def test_out_of_order_elements_break_the_xsd_but_not_the_decoder() -> None:
    swapped = MACHINE_XML.replace("<cpu>2</cpu>", "").replace(
        "<state>STARTED</state>", "<cpu>2</cpu><state>STARTED</state>"
    )
    t = table("Machine")
    assert schemas.xml_errors(t, etree.fromstring(swapped.encode()))
    assert xml_codec.decode(swapped.encode(), t) == xml_codec.decode(MACHINE_XML.encode(), t)


def test_schemas_reject_what_the_spec_forbids() -> None:
    machine = table("Machine")
    no_id = {k: v for k, v in MACHINE_JSON.items() if k != "id"}
    assert schemas.json_errors(machine, no_id)
    bad_state = {**MACHINE_JSON, "state": "RUNNING"}
    assert schemas.json_errors(machine, bad_state)
    naive = MACHINE_XML.replace("2016-07-27T10:00:00-05:00", "2016-07-27T10:00:00")
    assert schemas.xml_errors(machine, etree.fromstring(naive.encode()))
    collection = table("MachineConfigurationCollection")
    no_uri = CONFIGS_XML.replace(
        'resourceURI="http://schemas.dmtf.org/cimi/1/MachineConfigurationCollection"', ""
    )
    assert schemas.xml_errors(collection, etree.fromstring(no_uri.encode()))
    twice = etree.fromstring(MACHINE_XML.replace('key="tier"', 'key="owner"').encode())
    assert any("Duplicate key" in e for e in schemas.xml_errors(machine, twice))
