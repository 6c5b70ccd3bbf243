"""Wire formats, written from the specifications for the harness alone.

* :mod:`.occi_model`: the neutral Category and Entity the OCCI cases work with.
* :mod:`.occi_text`: the GFD.229 text renderings (text/plain, text/occi,
  text/uri-list): a parser that reports every ABNF violation it meets, and
  request builders.
* :mod:`.occi_json`: the GFD.226 JSON rendering into the same neutral model.
* :mod:`.cimi`: CIMI JSON and XML documents behind one accessor, and request bodies.
"""
