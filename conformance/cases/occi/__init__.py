"""OCCI 1.2 cases (GFD.221, 223, 224, 226, 229 and the ETSI TS 103 142 descriptions).

Everything starts at ``/-/`` relative to the endpoint URL: Kind and Mixin
locations, entity locations, action links come from the server's own answers.
"""
