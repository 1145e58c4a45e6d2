"""Validator = loader, on models drawn by others: every MIWG pool `process validate` accepts is
stored by the catalogue, and a case of the stored version starts and survives a store/restore."""

from __future__ import annotations

from datetime import UTC, datetime

from onewindow.catalog import service as catalog
from onewindow.kit.platform import Platform
from onewindow.workflow.engine import EngineCase, validate_bpmn

from ..unit.test_miwg import MIWG, pools


def test_every_pool_validate_accepts_loads_and_starts(platform: Platform) -> None:
    accepted = 0
    for path in sorted(MIWG.glob("*.bpmn")):
        for process_id, xml in pools(path.read_bytes()):
            if validate_bpmn(xml):
                continue
            accepted += 1
            with platform.unit_of_work() as ctx:
                stored = catalog.register_process(ctx, xml, actor="test")
                compiled = catalog.compiled_process(ctx, stored.id)
            assert stored.process_key == process_id
            now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
            case = EngineCase.start(compiled, {}, now)
            EngineCase.restore(compiled, case.dump())
    assert accepted == 13
