"""The Pyramid views of the CIMI rendering (registered by :func:`cimi.includeme`).

* :mod:`.cep`: the Cloud Entry Point and the ``/cimi`` redirect;
* :mod:`.resources`: GET, PUT and DELETE on every Collection and resource;
* :mod:`.operations`: POST (``add`` on Collections, Actions on resources);
* :mod:`.query`: Collections with ``$filter``, ``$select``, ``$expand``...;
* :mod:`.support`: negotiation, bodies, answers; :mod:`.errors`: error bodies.

The views know HTTP; :mod:`cimi.mapping` knows the engine; the codecs know
JSON and XML. No view has code for one resource type.
"""
