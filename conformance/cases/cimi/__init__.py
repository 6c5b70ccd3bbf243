"""DMTF CIMI (DSP0263) cases, run in JSON and XML.

Everything is reached from the Cloud Entry Point: collection hrefs, then each
collection's and resource's ``operations`` (add, edit, delete, actions), then
the hrefs of referenced resources. Hrefs are resolved against ``baseURI``.
"""
