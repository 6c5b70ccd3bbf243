"""Publishing: this site's public templates as a signed HEPiX image list.

:func:`site_list` draws the site's own public templates (cloud-wide,
available, not themselves from a list) as a HEPiX image list endorsed by the
site's certificate, and :func:`signed_site_list` signs it (S/MIME). Each image
carries its global id (``ad:mpuri``): the template's ``mpuri`` property when
the operator gave it one (e.g. an AppDB marketplace URI), else the list's URL
with the template's id as fragment, which names it at every site.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.catalog.models import Image
from engine.db import utcnow
from engine.federation import hepix, smime
from engine.federation.image_lists import FROM_LIST, GLOBAL_ID
from engine.lifecycle import State


@dataclass(frozen=True)
class Publisher:
    """Who publishes the site's list, and where.

    :param list_url: the list's own address (``hv:uri``), also the base of its
        images' global ids.
    :param lifetime: seconds a list stays valid after it is drawn.
    """

    site_name: str
    list_url: str
    identity: smime.SigningIdentity
    lifetime: int
    email: str = ""


def _published_image(image: Image, list_url: str) -> hepix.ListedImage:
    props = image.properties or {}
    # Firmware-only templates have no disk: zero bytes, and the digest of nothing.
    sha512 = props.get("sha512") or (hashlib.sha512(b"").hexdigest() if not image.location else "")
    return hepix.ListedImage(
        identifier=image.id,
        mpuri=props.get(GLOBAL_ID) or f"{list_url}#{image.id}",
        title=image.name,
        description=image.description or "",
        version=props.get("version") or "1",
        uri=props.get("image_uri") or f"{list_url}#{image.id}",
        disk_format=image.disk_format,
        size=image.size_bytes,
        sha512=sha512,
        arch=image.arch,
        os=image.os_type,
        os_name=props.get("os_name") or image.os_type,
        os_version=props.get("os_version") or "",
    )


def site_list(session: Session, publisher: Publisher, now: dt.datetime | None = None) -> bytes:
    """The JSON of this site's image list: its own cloud-wide public, available templates."""
    now = now or utcnow()
    images = session.scalars(
        sa.select(Image)
        .where(
            Image.account_id.is_(None),
            Image.domain_id.is_(None),
            Image.state == State.AVAILABLE,
        )
        .order_by(Image.name, Image.id)
    )
    own = [i for i in images if FROM_LIST not in (i.properties or {})]
    endorser = publisher.identity.endorser
    drawn = hepix.ImageList(
        identifier=str(uuid.uuid5(uuid.NAMESPACE_URL, publisher.list_url)),
        title=f"{publisher.site_name} public images",
        description=f"The public templates of Concord site {publisher.site_name}",
        version=now.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S"),
        uri=publisher.list_url,
        created=now,
        expires=now + dt.timedelta(seconds=publisher.lifetime),
        endorser_dn=endorser.dn,
        endorser_ca=endorser.ca,
        endorser_name=publisher.site_name,
        endorser_email=publisher.email,
        images=tuple(_published_image(i, publisher.list_url) for i in own),
    )
    return hepix.render(drawn)


def signed_site_list(session: Session, publisher: Publisher) -> bytes:
    """This site's image list, signed as S/MIME with the publisher's certificate."""
    return smime.sign(site_list(session, publisher), publisher.identity)
