"""The events of images: what usage accounting reads of the catalog.

An image owned by an account takes storage for as long as it exists, and
usage accounting meters it (template or snapshot GiB-hours, docs/usage.rst)
from its ``image.*`` events alone. Each carries :func:`image_facts` and is
recorded in the transaction that registers, fills or deletes the image.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.catalog.models import Image
from engine.events.models import Event
from engine.events.service import DomainEvent, emit
from engine.lifecycle import Kind
from engine.scope import Owner, Scope


def image_facts(image: Image) -> dict[str, Any]:
    """The facts every ``image.*`` event carries."""
    return {
        "name": image.name,
        "account_id": image.account_id,
        "project_id": image.project_id,
        "domain_id": image.domain_id,
        "zone_id": image.zone_id,
        "size_bytes": image.size_bytes,
        "disk_format": image.disk_format,
        "source_compute_id": image.source_compute_id,
        "state": image.state,
    }


def emit_image(
    session: Session,
    image: Image,
    event_type: str,
    *,
    scope: Scope | None = None,
    job_id: str | None = None,
    **extra: Any,
) -> Event:
    """Record an ``image.*`` event with the image's facts, in the caller's transaction."""
    owner = Owner(image.account_id, image.project_id, image.domain_id)
    payload = {**image_facts(image), **extra}
    return emit(
        session, DomainEvent(event_type, Kind.IMAGE.value, image.id, owner, payload), scope, job_id
    )


__all__ = ["emit_image", "image_facts"]
