"""Process execution: BPMN/DMN loading, validation and running cases on SpiffWorkflow.

This package is the only place that imports SpiffWorkflow; the rest of the platform sees
``CompiledProcess``, ``EngineCase`` and plain data.
"""
