"""The HEPiX image list: the JSON document a site endorses and its subscribers read.

The format (HEPiX Virtualisation Working Group, as EGI's AppDB publishes it
and atrope, cloudkeeper and vmcatcher read it) is one object
``{"hv:imagelist": {...}}`` with Dublin Core (``dc:``), HEPiX (``hv:``),
Scientific Linux (``sl:``) and AppDB (``ad:``) keys. :data:`LIST_FIELDS` and
:data:`IMAGE_FIELDS` are the keys every list and every image must have (the
ones atrope refuses a list without); :func:`render` writes a list and
:func:`parse` reads one back, checking every key it uses.

An image's global id is its ``ad:mpuri`` (the marketplace URI a federation
knows the image by at every site); its ``dc:identifier`` names it within the
list, ``hv:version`` tells versions apart.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import InvalidInput

#: Keys every list must have (atrope's HepixImageList.required_fields).
LIST_FIELDS = (
    "dc:date:created",
    "dc:date:expires",
    "hv:endorser",
    "dc:identifier",
    "dc:description",
    "dc:title",
    "hv:images",
    "dc:source",
    "hv:version",
    "hv:uri",
)
#: Keys the endorser's ``hv:x509`` must have (atrope's Endorser.required_fields).
ENDORSER_FIELDS = ("dc:creator", "hv:ca", "hv:dn", "hv:email")
#: Keys every image must have (atrope's HepixImage.field_map).
IMAGE_FIELDS = (
    "ad:group",
    "ad:mpuri",
    "ad:user:fullname",
    "ad:user:guid",
    "ad:user:uri",
    "dc:description",
    "dc:identifier",
    "dc:title",
    "hv:hypervisor",
    "hv:format",
    "hv:size",
    "hv:uri",
    "hv:version",
    "sl:arch",
    "sl:checksum:sha512",
    "sl:comments",
    "sl:os",
    "sl:osname",
    "sl:osversion",
)
#: The most images one list may carry.
MAX_IMAGES = 2000
#: The longest value of a key read from a list.
MAX_VALUE = 1024


@dataclass(frozen=True)
class ListedImage:
    """One image of a list, in neutral values.

    :param identifier: its ``dc:identifier`` within the list.
    :param mpuri: its global id across the federation (``ad:mpuri``).
    :param size: its bytes (``hv:size``); 0 for an image with no disk.
    """

    identifier: str
    mpuri: str
    title: str
    description: str
    version: str
    uri: str
    disk_format: str
    size: int
    sha512: str
    arch: str
    os: str
    os_name: str
    os_version: str
    group: str = "public"


@dataclass(frozen=True)
class ImageList:
    """A whole list: who endorses it, when it was made and until when it holds, its images."""

    identifier: str
    title: str
    description: str
    version: str
    uri: str
    created: dt.datetime
    expires: dt.datetime
    endorser_dn: str
    endorser_ca: str
    endorser_name: str
    endorser_email: str
    images: tuple[ListedImage, ...]


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(image_list: ImageList) -> bytes:
    """The list as the JSON document its endorser signs."""
    images = [
        {
            "hv:image": {
                "ad:group": image.group,
                "ad:mpuri": image.mpuri,
                "ad:user:fullname": image_list.endorser_name,
                "ad:user:guid": image_list.endorser_dn,
                "ad:user:uri": image_list.uri,
                "dc:description": image.description,
                "dc:identifier": image.identifier,
                "dc:title": image.title,
                "hv:hypervisor": "KVM",
                "hv:format": image.disk_format,
                "hv:size": image.size,
                "hv:uri": image.uri,
                "hv:version": image.version,
                "sl:arch": image.arch,
                "sl:checksum:sha512": image.sha512,
                "sl:comments": "",
                "sl:os": image.os,
                "sl:osname": image.os_name,
                "sl:osversion": image.os_version,
            }
        }
        for image in image_list.images
    ]
    document = {
        "hv:imagelist": {
            "dc:date:created": _stamp(image_list.created),
            "dc:date:expires": _stamp(image_list.expires),
            "hv:endorser": {
                "hv:x509": {
                    "dc:creator": image_list.endorser_name,
                    "hv:ca": image_list.endorser_ca,
                    "hv:dn": image_list.endorser_dn,
                    "hv:email": image_list.endorser_email,
                }
            },
            "dc:identifier": image_list.identifier,
            "dc:description": image_list.description,
            "dc:title": image_list.title,
            "hv:images": images,
            "dc:source": image_list.uri,
            "hv:version": image_list.version,
            "hv:uri": image_list.uri,
        }
    }
    return json.dumps(document, indent=1, sort_keys=True).encode("utf-8")


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(
            f"the image list's {what} is not a JSON object",
            subject="image_list",
            reason="malformed",
        )
    return value


def _required(entry: Mapping[str, Any], keys: Sequence[str], what: str) -> dict[str, str]:
    missing = [key for key in keys if key not in entry]
    if missing:
        raise InvalidInput(
            f"the image list's {what} has no {', '.join(missing)}",
            subject="image_list",
            reason="malformed",
        )
    values: dict[str, str] = {}
    for key in keys:
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidInput(
                f"the image list's {what} has a {key} that is not text",
                subject="image_list",
                reason="malformed",
            )
        text = str(value)
        if len(text) > MAX_VALUE:
            raise InvalidInput(
                f"the image list's {what} has a {key} over {MAX_VALUE} characters",
                subject="image_list",
                reason="malformed",
            )
        values[key] = text
    return values


def _moment(text: str, key: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"the image list's {key} is not a date and time",
            subject="image_list",
            reason="malformed",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _image(entry: Any, index: int) -> ListedImage:
    what = f"image {index}"
    fields = _required(_object(_object(entry, what).get("hv:image"), what), IMAGE_FIELDS, what)
    if not fields["hv:size"].isdigit() or len(fields["hv:size"]) > 19:
        raise InvalidInput(
            f"the image list's {what} has an hv:size that is not a byte count",
            subject="image_list",
            reason="malformed",
        )
    for key in ("ad:mpuri", "dc:identifier", "dc:title"):
        if not fields[key].strip():
            raise InvalidInput(
                f"the image list's {what} has an empty {key}",
                subject="image_list",
                reason="malformed",
            )
    return ListedImage(
        identifier=fields["dc:identifier"],
        mpuri=fields["ad:mpuri"],
        title=fields["dc:title"],
        description=fields["dc:description"],
        version=fields["hv:version"],
        uri=fields["hv:uri"],
        disk_format=fields["hv:format"],
        size=int(fields["hv:size"]),
        sha512=fields["sl:checksum:sha512"],
        arch=fields["sl:arch"],
        os=fields["sl:os"],
        os_name=fields["sl:osname"],
        os_version=fields["sl:osversion"],
        group=fields["ad:group"],
    )


def parse(content: bytes) -> ImageList:
    """Read a list's JSON document.

    :raises InvalidInput: it is not JSON, lacks a key atrope requires, or a
        value is not of its type.
    """
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "the image list is not JSON", subject="image_list", reason="malformed"
        ) from None
    body = _object(_object(document, "document").get("hv:imagelist"), "hv:imagelist")
    fields = _required(
        body, [k for k in LIST_FIELDS if k not in ("hv:endorser", "hv:images")], "header"
    )
    missing = [key for key in ("hv:endorser", "hv:images") if key not in body]
    if missing:
        raise InvalidInput(
            f"the image list has no {', '.join(missing)}", subject="image_list", reason="malformed"
        )
    endorser = _required(
        _object(_object(body["hv:endorser"], "hv:endorser").get("hv:x509"), "hv:x509"),
        ENDORSER_FIELDS,
        "endorser",
    )
    entries = body["hv:images"]
    if not isinstance(entries, list) or len(entries) > MAX_IMAGES:
        raise InvalidInput(
            f"the image list's hv:images is not a list of at most {MAX_IMAGES}",
            subject="image_list",
            reason="malformed",
        )
    images = tuple(_image(entry, index) for index, entry in enumerate(entries))
    identifiers = [image.identifier for image in images]
    if len(set(identifiers)) != len(identifiers):
        raise InvalidInput(
            "the image list names one dc:identifier twice", subject="image_list", reason="malformed"
        )
    return ImageList(
        identifier=fields["dc:identifier"],
        title=fields["dc:title"],
        description=fields["dc:description"],
        version=fields["hv:version"],
        uri=fields["hv:uri"],
        created=_moment(fields["dc:date:created"], "dc:date:created"),
        expires=_moment(fields["dc:date:expires"], "dc:date:expires"),
        endorser_dn=endorser["hv:dn"],
        endorser_ca=endorser["hv:ca"],
        endorser_name=endorser["dc:creator"],
        endorser_email=endorser["hv:email"],
        images=images,
    )
