"""What every event about a compute's links carries: its volume attachments and interfaces.

Shared by the link services (:mod:`engine.compute.attachments`,
:mod:`engine.compute.interfaces`) and their jobs, so that both record changes
the same way: every ``storage_attachment.*`` event carries
:func:`attachment_facts` and every ``network_interface.*`` event
:func:`interface_facts`, plus ``previous_state``, so that usage accounting
can follow attachments and addresses from their events alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.compute.models import Compute
from engine.lifecycle import Kind
from engine.network.models import NetworkInterface
from engine.resources.emitters import ResourceEmitter, resource_emitter
from engine.storage.models import StorageAttachment, Volume


def attachment_facts(session: Session, attachment: StorageAttachment) -> dict[str, Any]:
    """The facts every ``storage_attachment.*`` event carries."""
    compute = session.get(Compute, attachment.compute_id)
    volume = session.get(Volume, attachment.volume_id)
    return {
        "compute_id": attachment.compute_id,
        "volume_id": attachment.volume_id,
        "device": attachment.device,
        "mountpoint": attachment.mountpoint,
        "state": attachment.state,
        "host_id": compute.host_id if compute else None,
        "pool_id": volume.pool_id if volume else None,
        "size_bytes": volume.size_bytes if volume else None,
        "account_id": attachment.account_id,
        "project_id": attachment.project_id,
        "domain_id": attachment.domain_id,
    }


emit_attachment: ResourceEmitter[StorageAttachment] = resource_emitter(
    Kind.STORAGE_ATTACHMENT,
    attachment_facts,
    "Record a ``storage_attachment.*`` event, in the caller's transaction.",
)


def interface_facts(session: Session, nic: NetworkInterface) -> dict[str, Any]:
    """The facts every ``network_interface.*`` event carries."""
    compute = session.get(Compute, nic.compute_id)
    return {
        "compute_id": nic.compute_id,
        "network_id": nic.network_id,
        "interface": nic.interface,
        "mac": nic.mac,
        "ip_address": nic.ip_address,
        "allocation": nic.allocation,
        "state": nic.state,
        "host_id": compute.host_id if compute else None,
        "account_id": nic.account_id,
        "project_id": nic.project_id,
        "domain_id": nic.domain_id,
    }


emit_interface: ResourceEmitter[NetworkInterface] = resource_emitter(
    Kind.NETWORK_INTERFACE,
    interface_facts,
    "Record a ``network_interface.*`` event, in the caller's transaction.",
)


__all__ = ["attachment_facts", "emit_attachment", "emit_interface", "interface_facts"]
