"""Image lists: subscribing to other sites' signed lists (publishing: :mod:`.image_list_publish`).

Subscribing: :class:`ImageListService` keeps the subscriptions (list URL,
expected endorser DN, trusted CA, optional token, optional tenant) and
:meth:`ImageListService.apply` takes a fetched copy (the HTTP edge fetches:
the engine makes no network call). A copy is refused, with the reason
recorded on the subscription and nothing else changed, when its signature
does not verify against the subscription's CA, when its signer is not the
expected endorser (or not the endorser the list names), when it has expired,
or when it is not a well-formed list. An accepted copy registers each image
as a template carrying the image's global id (``mpuri``), version and list
identifiers in its properties; an image with bytes (``hv:size`` above 0)
waits in ``creating``, without a ``location``, until the edge has fetched and
verified them (:mod:`engine.federation.image_fetch`), and waits again when a
later copy lists other bytes for it. Images no longer listed are *retired*: deleted
when nothing uses them, else left in ``error`` with a message so that no new
guest starts from them while running guests keep their disks.
:meth:`ImageListService.retire_expired` retires the images of lists whose
last accepted copy has expired without a fresh one.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.catalog.models import Image
from engine.catalog.service import CatalogService
from engine.db import utcnow
from engine.drivers.specs import DISK_FORMATS
from engine.errors import AlreadyExists, EngineError, InvalidInput, NotFound, PermissionDenied
from engine.federation import hepix, smime
from engine.federation.endorsement import endorsed_list
from engine.federation.models import ImageListSubscription
from engine.lifecycle import State
from engine.naming import check_name
from engine.resources.references import count_users
from engine.scope import Scope
from engine.tenancy.models import Account, AccountType
from engine.tenancy.server_keys import ServerKeys
from engine.tenancy.service import TenancyService

log = logging.getLogger(__name__)

#: Properties of a template registered from a list.
FROM_LIST = "image_list"  # the subscription's id
LIST_IDENTIFIER = "image_list_identifier"  # the image's dc:identifier in the list
GLOBAL_ID = "mpuri"  # the image's global id (also read by GLUE and the usage export)
_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._@+-]+")


@dataclass(frozen=True)
class SyncOutcome:
    """What one accepted copy changed, or why it was refused (``refused`` set, nothing changed)."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()
    refused: str | None = None
    #: The images whose bytes were then fetched: ``(name, None)`` when fetched
    #: and verified, ``(name, reason)`` when refused (filled in by the edge).
    fetched: tuple[tuple[str, str | None], ...] = ()


def _template_name(subscription: str, title: str) -> str:
    slug = _NAME_CHARACTERS.sub("-", title).strip("-.") or "image"
    return f"{subscription}.{slug}"[:64].rstrip("-.")


class ImageListService:
    """Subscriptions to other sites' image lists, and the templates they bring.

    :param session: the unit of work; the caller commits.
    :param server_keys: the keys subscription tokens are sealed with.
    """

    def __init__(self, session: Session, server_keys: ServerKeys) -> None:
        self.session = session
        self.server_keys = server_keys

    # -- subscriptions ---------------------------------------------------------------

    def subscribe(
        self,
        scope: Scope,
        name: str,
        url: str,
        endorser_dn: str,
        ca_pem: str,
        *,
        token: str | None = None,
        account_id: str | None = None,
    ) -> ImageListSubscription:
        """Subscribe to the list at ``url``, signed by ``endorser_dn`` under the CA ``ca_pem``.

        :param account_id: register its images as private templates of this
            (ordinary) account; by default they are public.
        """
        self._require_root(scope)
        check_name("image list", name)
        if not url.startswith(("https://", "http://")) or len(url) > 512:
            raise InvalidInput("the list's URL must be an http(s) URL", field="url")
        if not endorser_dn.startswith("/") or len(endorser_dn) > 512:
            raise InvalidInput(
                "the endorser is a DN in OpenSSL form, e.g. /C=EU/O=Example/CN=site",
                field="endorser_dn",
            )
        smime.ca_subject(ca_pem)
        if account_id is not None:
            account = self.session.get(Account, account_id)
            if account is None:
                raise NotFound(f"no account {account_id!r}", subject="account", id=account_id)
            if account.type == AccountType.ADMIN:
                raise InvalidInput("a list's images never go to an administrators' account")
        if self.session.scalar(
            sa.select(ImageListSubscription.id).where(ImageListSubscription.name == name)
        ):
            raise AlreadyExists(
                f"image list {name!r} already exists", subject="image_list", name=name
            )
        subscription = ImageListSubscription(
            name=name,
            url=url,
            endorser_dn=endorser_dn,
            ca_pem=ca_pem,
            sealed_token=self.server_keys.seal(token) if token else None,
            account_id=account_id,
        )
        self.session.add(subscription)
        self.session.flush()
        return subscription

    def list_subscriptions(self, scope: Scope) -> list[ImageListSubscription]:
        """Every subscription, by name."""
        self._require_root(scope)
        return list(
            self.session.scalars(
                sa.select(ImageListSubscription).order_by(ImageListSubscription.name)
            )
        )

    def unsubscribe(self, scope: Scope, name: str) -> tuple[str, ...]:
        """Forget a subscription, retiring its templates; returns their names."""
        self._require_root(scope)
        subscription = self._get(name)
        retired = self._retire(subscription, keep=set(), reason="unsubscribed")
        self.session.delete(subscription)
        self.session.flush()
        return retired

    def token(self, subscription: ImageListSubscription) -> str | None:
        """The token that reads the list, unsealed."""
        if subscription.sealed_token is None:
            return None
        return self.server_keys.unseal(subscription.sealed_token)

    # -- synchronisation -------------------------------------------------------------

    def apply(self, name: str, message: bytes, now: dt.datetime | None = None) -> SyncOutcome:
        """Verify a fetched copy of list ``name`` and register its images, or refuse it.

        A refusal records its reason on the subscription (and in the log) and
        changes nothing else.
        """
        subscription = self._get(name)
        now = now or utcnow()
        try:
            image_list = endorsed_list(subscription, message, now)
        except (smime.SignatureRefused, InvalidInput) as exc:
            return self._refuse(subscription, str(exc))
        try:
            # One savepoint: a template the catalog refuses undoes the whole copy.
            with self.session.begin_nested():
                outcome = self._register(subscription, image_list)
        except EngineError as exc:
            return self._refuse(subscription, f"its images cannot be registered: {exc.message}")
        subscription.list_identifier = image_list.identifier[:255]
        subscription.list_version = image_list.version[:255]
        subscription.expires = image_list.expires
        subscription.synced = now
        subscription.error = None
        self.session.flush()
        log.info(
            "image list %s accepted: %d added, %d updated, %d retired",
            name,
            len(outcome.added),
            len(outcome.updated),
            len(outcome.retired),
        )
        return outcome

    def record_error(self, name: str, error: str) -> SyncOutcome:
        """Record that list ``name`` could not be read (nothing else changes)."""
        return self._refuse(self._get(name), error)

    def retire_expired(self, now: dt.datetime | None = None) -> dict[str, tuple[str, ...]]:
        """Retire the templates of every list whose last accepted copy has expired."""
        now = now or utcnow()
        retired = {}
        for subscription in self.session.scalars(
            sa.select(ImageListSubscription).where(ImageListSubscription.expires < now)
        ):
            names = self._retire(subscription, keep=set(), reason="its list expired")
            if names:
                retired[subscription.name] = names
        return retired

    # -- internals -------------------------------------------------------------------

    def _refuse(self, subscription: ImageListSubscription, reason: str) -> SyncOutcome:
        log.warning("image list %s refused: %s", subscription.name, reason)
        subscription.error = reason[:1024]
        self.session.flush()
        return SyncOutcome(refused=reason)

    def _templates(self, subscription: ImageListSubscription) -> dict[str, Image]:
        """This subscription's templates by the image's identifier in the list."""
        found = {}
        for image in self.session.scalars(
            sa.select(Image).where(Image.source_compute_id.is_(None))
        ):
            props = image.properties or {}
            if props.get(FROM_LIST) == subscription.id:
                found[props.get(LIST_IDENTIFIER, "")] = image
        return found

    def _register(
        self, subscription: ImageListSubscription, image_list: hepix.ImageList
    ) -> SyncOutcome:
        catalog = CatalogService(self.session)
        system = self._system()
        existing = self._templates(subscription)
        added, updated = [], []
        for listed in image_list.images:
            properties = {
                FROM_LIST: subscription.id,
                LIST_IDENTIFIER: listed.identifier,
                GLOBAL_ID: listed.mpuri,
                "version": listed.version,
                "os_name": listed.os_name,
                "os_version": listed.os_version,
                "image_uri": listed.uri,
                "sha512": listed.sha512,
            }
            fields = {
                "description": listed.description[:1024] or None,
                "size_bytes": listed.size,
            }
            image = existing.get(listed.identifier)
            name = _template_name(subscription.name, listed.title)
            # An image with bytes waits in `creating` until they are fetched and
            # verified (engine.federation.image_fetch); one without boots nothing.
            waiting = (State.CREATING.value, f"waiting for its bytes from {listed.uri}"[:1024])
            if image is None:
                image = catalog.create_image(
                    system,
                    name,
                    public=subscription.account_id is None,
                    account_id=subscription.account_id,
                    arch=_word(listed.arch, "x86_64"),
                    os_type=_word(listed.os.lower(), "linux"),
                    disk_format=_disk_format(listed.disk_format),
                    properties=properties,
                    **fields,  # type: ignore[arg-type]
                )
                if listed.size > 0:
                    image.state, image.state_message = waiting
                added.append(image.name)
                continue
            listed_before = (image.properties or {}).get("sha512"), image.size_bytes
            if listed_before != (listed.sha512, listed.size):
                # Other bytes: the file fetched for the old ones boots no new guest.
                image.location = None
            has_bytes = image.location is not None or listed.size == 0
            state = (State.AVAILABLE.value, None) if has_bytes else waiting
            if image.properties != properties or image.state != state[0]:
                catalog.update_entry(system, Image, image.id, name=name, properties=properties)
                image.description = fields["description"]  # type: ignore[assignment]
                image.size_bytes = listed.size
                image.state, image.state_message = state
                updated.append(image.name)
        keep = {listed.identifier for listed in image_list.images}
        retired = self._retire(subscription, keep, reason="no longer in its list")
        return SyncOutcome(tuple(added), tuple(updated), retired)

    def _retire(
        self, subscription: ImageListSubscription, keep: set[str], reason: str
    ) -> tuple[str, ...]:
        catalog = CatalogService(self.session)
        retired = []
        for identifier, image in self._templates(subscription).items():
            if identifier in keep:
                continue
            if count_users(self.session, Image.__tablename__, [image.id]):
                if image.state != State.ERROR:
                    image.state = State.ERROR.value
                    image.state_message = f"retired from image list {subscription.name}: {reason}"
                    retired.append(image.name)
            else:
                retired.append(image.name)
                catalog.delete_entry(self._system(), Image, image.id)
        self.session.flush()
        return tuple(retired)

    def _system(self) -> Scope:
        return Scope.system(TenancyService(self.session).root())

    def _get(self, name: str) -> ImageListSubscription:
        subscription = self.session.scalar(
            sa.select(ImageListSubscription).where(ImageListSubscription.name == name)
        )
        if subscription is None:
            raise NotFound(f"no image list {name!r}", subject="image_list", name=name)
        return subscription

    @staticmethod
    def _require_root(scope: Scope) -> None:
        if not scope.is_root_admin:
            raise PermissionDenied(
                "image list subscriptions are root administrators' business", subject="image_list"
            )


def _word(value: str, default: str) -> str:
    return value if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", value) else default


def _disk_format(value: str) -> str:
    lowered = value.lower()
    return lowered if lowered in DISK_FORMATS else "raw"
