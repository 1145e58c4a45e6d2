"""Process mining over event-log frames (流程挖掘): ours or imported.

Import with :mod:`onewindow.mining.importers`, analyse with :mod:`~.maps` (process map,
variants), :mod:`~.analyses` (bottlenecks, trips, rework, SLA), :mod:`~.bpmn` and
:mod:`~.petri` (conformance by token replay), :mod:`~.compare` (before/after), and
write everything as one HTML file with :mod:`~.report`. :mod:`~.service` runs the same
analyses on this installation's own event log; :mod:`~.endpoints` serves them.
"""
