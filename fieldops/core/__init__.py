"""The pure core of fieldops: domain model, geometry, routing, planning, payloads.

Code in this package cannot do any I/O: no files, network, clock, environment, database,
web or PDF. It takes values and returns values. Adapters around it (``fieldops.adapters``)
do the reading and writing; ``fieldops.services`` wires them together. import-linter holds
this line (see ``[tool.importlinter]`` in pyproject.toml).
"""
