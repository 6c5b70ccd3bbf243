"""Guests: create, find, change and act on computes (OCCI compute, CIMI Machine).

Every mutation happens in the caller's transaction and is complete when it
commits: the compute row, its quota charge, its host capacity, its event and
its job. Work on the hypervisor is never done here; it is a job
(:mod:`engine.compute.handlers`) that a worker runs after the commit. The
caller wakes in-process workers with :func:`engine.jobs.worker.notify` *after*
committing (a worker woken earlier would find nothing to claim yet). If a
method raises, the caller must roll the transaction back, as
:meth:`engine.db.Database.transaction` does: that is what guarantees "nothing
created, nothing charged".

State changes and events go through :mod:`engine.compute.state` (conditional
updates; each event carries the compute's facts and ``previous_state``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine import lifecycle
from engine.catalog import lookups
from engine.compute._placement import place_new_compute, place_unplaced, resize_on_host
from engine.compute._reads import ComputeReads
from engine.compute.capture import new_capture_image
from engine.compute.groups import group_for
from engine.compute.models import Compute
from engine.compute.state import (
    JOB_ACTIONS,
    change_state,
    emit_compute,
    job_action,
    quota_amounts,
)
from engine.errors import (
    InvalidInput,
    InvalidTransition,
)
from engine.jobs.models import Job
from engine.jobs.service import JobService
from engine.lifecycle import Action, Kind, State
from engine.resources import checks
from engine.resources.checks import UNSET, Unset
from engine.resources.ids import choose_id
from engine.scope import Owner, Scope
from engine.storage.models import Volume
from engine.tenancy.models import ResourceType
from engine.tenancy.quotas import QuotaService


class ComputeService(ComputeReads):
    """Computes as tenants and administrators see them.

    :param session: the unit of work; the caller commits (then calls
        :func:`engine.jobs.worker.notify`) or rolls back.
    """

    # -- creating --------------------------------------------------------------

    def create(
        self,
        scope: Scope,
        *,
        name: str,
        zone_id: str | None = None,
        offering_id: str | None = None,
        vcpus: int | None = None,
        memory_mib: int | None = None,
        image_id: str | None = None,
        hostname: str | None = None,
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
        ssh_public_key: str | None = None,
        user_data: str | None = None,
        start: bool = True,
        ha_enabled: bool | None = None,
        compute_id: str | None = None,
        volumes: Sequence[Volume] = (),
        placement_group: str | None = None,
        placement_policy: str | None = None,
    ) -> tuple[Compute, Job]:
        """Create a compute: charge quotas, reserve a host, queue its ``compute.create`` job.

        The size comes from ``vcpus``/``memory_mib``, from the offering, or
        both: explicit values override the offering's (OCCI ``resource_tpl``
        semantics). The compute is ``creating`` until its job ends.

        :param zone_id: where to place it; by default the first enabled zone.
        :param start: whether the job also starts it (else it ends ``stopped``).
        :param ha_enabled: restart it elsewhere if its host fails; by default
            the offering's setting, else off.
        :param compute_id: an id the client chose (OCCI PUT at a new path), a
            UUID since it is the guest's; by default a new one
            (see :func:`engine.resources.ids.choose_id`).
        :param volumes: the volumes it is created with (the caller then
            prepares their attachments): it is placed on a host that reaches
            their storage pools.
        :param placement_group: the caller's placement group it joins, made
            with ``placement_policy`` if new (:func:`~engine.compute.groups.group_for`).
        :returns: the compute and its creation job.
        :raises InvalidInput: a malformed value, or no size at all.
        :raises NotFound: the zone, offering or image is unknown or not visible.
        :raises QuotaExceeded: a limit of the owner would be passed.
        :raises CapacityUnavailable: no host in the zone can take the guest.
        :raises Conflict: one of ``volumes`` is another owner's or in another
            zone, or no single host reaches them all; or the group's policy differs.
        """
        owner = Owner.for_scope(scope)
        if owner.account_id is None:
            raise InvalidInput(
                "only an account can own a compute; act as a user of one",
                subject=Kind.COMPUTE.value,
                reason="owner",
            )
        checks.check_text("name", name, 255, required=True)
        checks.check_text("description", description, 1024)
        checks.check_hostname(hostname)
        checks.check_properties(properties)
        checks.check_ssh_key(ssh_public_key)
        checks.check_text("user_data", user_data, checks.MAX_USER_DATA, multiline=True)
        if not isinstance(start, bool) or not isinstance(ha_enabled, bool | None):
            raise InvalidInput("start and ha_enabled are booleans")
        zone = lookups.find_zone(self.session, scope, zone_id)
        offering = lookups.find_offering(self.session, scope, offering_id) if offering_id else None
        vcpus = vcpus if vcpus is not None else (offering.vcpus if offering else None)
        memory_mib = (
            memory_mib if memory_mib is not None else (offering.memory_mib if offering else None)
        )
        if vcpus is None or memory_mib is None:
            raise InvalidInput(
                "give vcpus and memory_mib, or an offering that sets them",
                subject=Kind.COMPUTE.value,
                reason="size",
            )
        checks.check_size(vcpus, memory_mib)
        image = (
            lookups.find_image(self.session, scope, image_id, zone, memory_mib)
            if image_id is not None
            else None
        )

        row_id, chosen_id = choose_id(
            self.session, Compute, compute_id, account_id=owner.account_id, uuid_only=True
        )
        compute = Compute(
            id=row_id,
            chosen_id=chosen_id,
            name=name,
            description=description,
            properties=dict(properties or {}),
            state=lifecycle.initial(Kind.COMPUTE).value,
            account_id=owner.account_id,
            project_id=owner.project_id,
            domain_id=owner.domain_id,
            zone_id=zone.id,
            offering_id=offering.id if offering else None,
            image_id=image.id if image else None,
            vcpus=vcpus,
            cpu_share=offering.cpu_share if offering else 1024,
            memory_mib=memory_mib,
            arch=image.arch if image else "x86_64",
            hostname=hostname,
            ha_enabled=ha_enabled
            if ha_enabled is not None
            else bool(offering and offering.ha_enabled),
            ssh_public_key=ssh_public_key,
            user_data=user_data,
            quota_held=True,
        )
        group = group_for(self.session, scope, placement_group, placement_policy)
        # Quota first, then capacity (the lock order of engine.tenancy.quotas);
        # the row is inserted once placed, host included, in one INSERT. The
        # charge's SAVEPOINT stays inside the caller's transaction on SQLite
        # too (engine.db opens the transaction before any savepoint).
        known_path = scope.domain_path if owner.domain_id == scope.domain_id else None
        QuotaService(self.session).charge(owner, quota_amounts(compute), domain_path=known_path)
        place_new_compute(self.session, compute, owner, offering, image, volumes, group)
        job = JobService(self.session).submit(
            scope,
            "compute.create",
            Kind.COMPUTE.value,
            compute.id,
            owner,
            {"start": start, "previous": None},
        )
        emit_compute(
            self.session,
            compute,
            "compute.created",
            previous_state=None,
            scope=scope,
            job_id=job.id,
            start=start,
            cpu_share=compute.cpu_share,
        )
        return compute, job

    # -- changing --------------------------------------------------------------

    def update(
        self,
        scope: Scope,
        compute_id: str,
        *,
        name: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        properties: Mapping[str, str] | Unset = UNSET,
        hostname: str | Unset | None = UNSET,
    ) -> Compute:
        """Change the fields that do not depend on the compute's state.

        Only the fields given are changed (``None`` clears ``description``
        and ``hostname``); a new hostname applies at the next boot.

        :raises NotFound: no such compute visible to ``scope``.
        """
        compute = self.get(scope, compute_id)
        changes: dict[str, Any] = {}
        if not isinstance(name, Unset):
            checks.check_text("name", name, 255, required=True)
            changes["name"] = name
        if not isinstance(description, Unset):
            checks.check_text("description", description, 1024)
            changes["description"] = description
        if not isinstance(properties, Unset):
            checks.check_properties(properties)
            changes["properties"] = dict(properties)
        if not isinstance(hostname, Unset):
            checks.check_hostname(hostname)
            changes["hostname"] = hostname
        changes = {k: v for k, v in changes.items() if getattr(compute, k) != v}
        if not changes:
            return compute
        for key, value in changes.items():
            setattr(compute, key, value)
        self.session.flush()
        emit_compute(
            self.session,
            compute,
            "compute.updated",
            previous_state=compute.state,
            scope=scope,
            changed=sorted(changes),
        )
        return compute

    def resize(
        self,
        scope: Scope,
        compute_id: str,
        *,
        vcpus: int | None = None,
        memory_mib: int | None = None,
        offering_id: str | None = None,
    ) -> Compute:
        """Change a stopped compute's size; it applies at its next start.

        Quotas and the host's capacity move by the difference, in this
        transaction. A compute that no longer fits its host is refused (it is
        not moved to another host).

        :param offering_id: resize to this offering's size (explicit ``vcpus``
            and ``memory_mib`` still win) and record it as the compute's
            offering (OCCI ``resource_tpl`` replacement, GFD.224 §3.5.2).
        :raises InvalidTransition: the compute is not ``stopped``.
        :raises NotFound: the offering is unknown or not visible.
        :raises QuotaExceeded: growing would pass a limit.
        :raises CapacityUnavailable: its host has no room to grow.
        """
        compute = self.get(scope, compute_id)
        offering = lookups.find_offering(self.session, scope, offering_id) if offering_id else None
        if offering is not None:
            vcpus = offering.vcpus if vcpus is None else vcpus
            memory_mib = offering.memory_mib if memory_mib is None else memory_mib
        if compute.state != State.STOPPED:
            raise InvalidTransition(
                f"a compute is resized only when stopped; it is {compute.state}",
                kind=Kind.COMPUTE.value,
                id=compute.id,
                state=compute.state,
                action=Action.RESIZE.value,
                expected=[State.STOPPED.value],
            )
        new_vcpus = compute.vcpus if vcpus is None else vcpus
        new_memory = compute.memory_mib if memory_mib is None else memory_mib
        checks.check_size(new_vcpus, new_memory)
        grow = {
            ResourceType.CPU: new_vcpus - compute.vcpus,
            ResourceType.MEMORY: new_memory - compute.memory_mib,
        }
        new_offering = offering.id if offering is not None else compute.offering_id
        if not any(grow.values()):
            if new_offering != compute.offering_id:
                change_state(
                    self.session, compute, State.STOPPED, State.STOPPED, offering_id=new_offering
                )
            return compute
        old_vcpus, old_memory = compute.vcpus, compute.memory_mib
        # The conditional update comes first: it pins the compute in 'stopped'
        # against a concurrent start, and it is the first write (see create()).
        change_state(
            self.session,
            compute,
            State.STOPPED,
            State.STOPPED,
            vcpus=new_vcpus,
            memory_mib=new_memory,
            offering_id=new_offering,
        )
        owner = Owner.of(compute)
        quotas = QuotaService(self.session)
        quotas.charge(owner, {rt: n for rt, n in grow.items() if n > 0})
        quotas.release(owner, {rt: -n for rt, n in grow.items() if n < 0})
        resize_on_host(self.session, compute, grow)
        emit_compute(
            self.session,
            compute,
            "compute.resized",
            previous_state=compute.state,
            scope=scope,
            previous_vcpus=old_vcpus,
            previous_memory_mib=old_memory,
        )
        return compute

    def perform(self, scope: Scope, compute_id: str, action: Action | str, **params: Any) -> Job:
        """Queue an action on a compute: start, stop, force_stop, restart, pause,
        resume, suspend, capture (or delete, as :meth:`delete`).

        The compute moves to the action's transitional state now and to its
        result when the job ends. Parameters: ``stop`` takes ``timeout``
        (seconds before a graceful stop powers off); ``capture`` takes
        ``image_name`` (required) and ``image_description``, and creates the
        image (``creating``) at once, through the catalog (its name must be
        free for the owner; it counts against the owner's ``templates``
        limit): its id is ``job.parameters['image_id']``.

        :raises InvalidInput: an unknown action or parameter.
        :raises InvalidTransition: the compute's state forbids the action.
        :raises NotFound: no such compute visible to ``scope``.
        :raises AlreadyExists: (capture) the owner has an image of that name.
        :raises QuotaExceeded: (capture) the owner's ``templates`` limit is reached.
        """
        action = checks.parse_action(action)
        if action is Action.DELETE:
            if params:
                raise InvalidInput("delete takes no parameters")
            return self.delete(scope, compute_id)
        if action not in JOB_ACTIONS:
            raise InvalidInput(
                f"'{action}' is not an action of a compute",
                action=action.value,
                subject=Kind.COMPUTE.value,
                reason="action",
            )
        parameters = checks.action_parameters(action, params)
        compute = self.get(scope, compute_id)
        previous = State(compute.state)
        transitional = lifecycle.begin(Kind.COMPUTE, previous, action, compute.id)
        if action is Action.START and compute.host_id is None:
            # Its host was lost (HA released it from a failed host): placed now.
            place_unplaced(self.session, compute)
        change_state(self.session, compute, previous, transitional)
        if action is Action.CAPTURE:
            parameters["image_id"] = new_capture_image(self.session, scope, compute, parameters).id
        return self._submit(scope, compute, action, previous, parameters)

    def delete(self, scope: Scope, compute_id: str) -> Job:
        """Queue the deletion of a compute (its guest, capacity, quota, links).

        The row stays, ``deleted``, for usage history; :meth:`get` and
        :meth:`list` no longer return it.

        :raises InvalidTransition: a job is running on it.
        :raises NotFound: no such compute visible to ``scope``.
        """
        compute = self.get(scope, compute_id)
        previous = State(compute.state)
        transitional = lifecycle.begin(Kind.COMPUTE, previous, Action.DELETE, compute.id)
        change_state(self.session, compute, previous, transitional)
        return self._submit(scope, compute, Action.DELETE, previous, {})

    # -- internals -------------------------------------------------------------

    def _submit(
        self,
        scope: Scope,
        compute: Compute,
        action: Action,
        previous: State,
        parameters: dict[str, Any],
    ) -> Job:
        # 'previous' lets the handler's failed() restore the state the job began from.
        job = JobService(self.session).submit(
            scope,
            job_action(action),
            Kind.COMPUTE.value,
            compute.id,
            Owner.of(compute),
            {**parameters, "previous": previous.value},
        )
        emit_compute(
            self.session,
            compute,
            f"compute.{action.value}.requested",
            previous_state=previous.value,
            scope=scope,
            job_id=job.id,
            parameters={k: v for k, v in parameters.items() if k != "previous"},
        )
        return job


__all__ = ["JOB_ACTIONS", "UNSET", "ComputeService", "Unset"]
