"""The canonical lifecycle of every resource kind.

One state machine per kind (:class:`Kind`), written as a table in
:mod:`engine.lifecycle.tables` and checked by :func:`validate_tables` when
this package is imported. Every mutating operation is an asynchronous job,
so the machine has two levels: :func:`begin` moves a stable state to a
transitional one; :func:`complete` or :func:`fail` moves it back to a stable
one. :func:`observe` lets reconciliation record what the hypervisor reports.

The engine's states are neutral. The OCCI 1.2 and CIMI renderings own
the tables that translate them; this is which engine state exists to serve
which spec state (GFD.224 = OCCI 1.2 Infrastructure, GFD.184 = OCCI 1.1
Infrastructure, DSP0263 = CIMI):

==============  ======================  =====================================
engine state    kinds                   serves
==============  ======================  =====================================
creating        all but attachments     CIMI CREATING (DSP0263 §5.14-5.16);
                                        OCCI has no transient states
starting        compute, network        CIMI STARTING
running         compute, network        OCCI active; CIMI STARTED
stopping        compute, network        CIMI STOPPING
stopped         compute, network        OCCI inactive; CIMI STOPPED
restarting      compute                 CIMI RESTARTING; OCCI ``restart``
pausing         compute                 CIMI PAUSING
paused          compute                 CIMI PAUSED; OCCI suspended
                                        (``suspend`` method=suspend)
resuming        compute                 the CIMI STARTING of a paused machine
suspending      compute                 CIMI SUSPENDING
suspended       compute                 CIMI SUSPENDED; OCCI suspended
                                        (``suspend`` method=hibernate)
capturing       compute, volume         CIMI CAPTURING; OCCI 1.1 storage
                                        snapshot/backup (GFD.184)
available       volume, image           OCCI storage online; CIMI AVAILABLE
resizing        volume                  OCCI 1.1 storage resize (GFD.184)
going_offline   volume                  OCCI storage ``offline`` action
offline         volume                  OCCI storage offline (GFD.224 §3.3)
going_online    volume                  OCCI storage ``online`` action
degraded        volume                  OCCI 1.1 storage degraded (GFD.184)
attaching       attachments             CIMI MachineVolume ATTACHING
attached        attachments             OCCI link active; CIMI ATTACHED
detaching       attachments             CIMI MachineVolume DETACHING
deleting        all                     CIMI DELETING (DSP0263 §4.2.1.4)
deleted         all                     neither (the resource is gone: 404);
                                        kept for records and usage
error           all                     OCCI error; CIMI ERROR
==============  ======================  =====================================

Choices where the specs are silent or disagree (the reasons sit next to
each row in :mod:`engine.lifecycle.tables`):

* Capture of a compute runs only from ``stopped`` (DSP0263 §5.14.7.1 leaves
  it to the provider); OCCI ``save`` is composed by the service as stop,
  capture, start, which is how GFD.224 §3.1 describes it.
* ``start`` and ``resume`` are both accepted from ``paused`` and
  ``suspended`` (GFD.224 §3.1 Fig. 2 starts a suspended compute; DSP0263
  §5.14 starts paused and suspended machines). From ``paused`` and
  ``suspended`` only ``force_stop`` stops, and ``error`` allows only
  ``force_stop`` and ``delete``.
* No action is accepted while a job runs (unlike one reading of DSP0263
  that lets start/stop interrupt STARTING/STOPPING): jobs are exclusive.
* A failed job returns to the state it began from, except ``restart`` and
  every ``delete``, which go to ``error`` (their steps may have half
  happened). A failed creation goes to ``error``.
* Links have no actions but delete (GFD.224 §3.4 defines none); an
  attachment has no inactive state: a rendering that wants OCCI
  ``inactive`` derives it from the compute.
* Observation never deletes and cannot leave ``deleted``; ``degraded`` is
  reached only by observation.
"""

from __future__ import annotations

from .operations import (
    actions,
    allowed_actions,
    begin,
    complete,
    complete_creation,
    fail,
    fail_creation,
    initial,
    is_stable,
    machine,
    observe,
    reached_by,
    stable_states,
    states,
    transitional_states,
)
from .tables import MACHINES, Machine, Transition
from .validation import TableError, validate_tables
from .vocabulary import Action, Kind, OnFailure, State

validate_tables()

__all__ = [
    "MACHINES",
    "Action",
    "Kind",
    "Machine",
    "OnFailure",
    "State",
    "TableError",
    "Transition",
    "actions",
    "allowed_actions",
    "begin",
    "complete",
    "complete_creation",
    "fail",
    "fail_creation",
    "initial",
    "is_stable",
    "machine",
    "observe",
    "reached_by",
    "stable_states",
    "states",
    "transitional_states",
    "validate_tables",
]
