"""Host inventories written straight as rows, for placement tests that need many shapes.

Building hosts through libvirt (as test_allocation does) reads their sizes
from real test hosts; these tests draw arbitrary sizes and loads instead, so
they write the rows directly, as an operator's inventory would hold them.
"""

from __future__ import annotations

from engine.db import Database
from engine.inventory.models import Cluster, Host, Pod, Zone


def store_inventory(database: Database, hosts: list[Host], zone_name: str = "zone") -> str:
    """Record the drawn inventory in one zone; return the zone's id."""
    with database.transaction() as session:
        zone = Zone(name=zone_name)
        session.add(zone)
        session.flush()
        pods = {}
        for host in hosts:
            cluster = host.cluster
            if cluster.pod_id not in pods:
                pods[cluster.pod_id] = Pod(id=cluster.pod_id, zone_id=zone.id, name=cluster.pod_id)
                session.add(pods[cluster.pod_id])
            if session.get(Cluster, cluster.id) is None:
                session.add(
                    Cluster(
                        id=cluster.id,
                        pod_id=cluster.pod_id,
                        name=cluster.id,
                        hypervisor_type="test",
                        cpu_overprovisioning=cluster.cpu_overprovisioning,
                        memory_overprovisioning=cluster.memory_overprovisioning,
                    )
                )
            session.flush()
            session.add(
                Host(
                    id=host.id,
                    name=host.name,
                    cluster_id=cluster.id,
                    uri=f"test:///{host.id}",
                    hypervisor_type="test",
                    cpu_cores=host.cpu_cores,
                    cpu_mhz=2000,
                    memory_mib=host.memory_mib,
                    allocated_vcpus=host.allocated_vcpus,
                    allocated_memory_mib=host.allocated_memory_mib,
                    tags=host.tags,
                    ha_reserved=bool(host.ha_reserved),
                    created=host.created,
                )
            )
        return zone.id
