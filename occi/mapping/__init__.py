"""The one place where engine objects and OCCI meet.

* :mod:`~occi.mapping.tables`: per Kind, each OCCI attribute and its engine
  field, converters (:mod:`~occi.mapping.units`) and how it changes;
* :mod:`~occi.mapping.states`: engine states and actions in OCCI's words;
* :mod:`~occi.mapping.templates`: the catalog and tags as Mixins;
* :mod:`~occi.mapping.load` and :mod:`~occi.mapping.render`: engine rows to
  the neutral structures of :mod:`occi.model`;
* :mod:`~occi.mapping.validate`, :mod:`~occi.mapping.create`,
  :mod:`~occi.mapping.update`, :mod:`~occi.mapping.actions`,
  :mod:`~occi.mapping.membership`: requests to engine calls;
* :mod:`~occi.mapping.filters` and :mod:`~occi.mapping.paths`: filtering,
  pagination and the namespace;
* :mod:`~occi.mapping.service`: :class:`OcciService`, the one object views call.
"""

from occi.mapping.context import OcciContext
from occi.mapping.service import OcciService

__all__ = ["OcciContext", "OcciService"]
