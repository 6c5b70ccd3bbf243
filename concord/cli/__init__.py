"""The ``concord`` command line: serving, workers, schema and administration."""
