from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from onewindow.kit.db import Base, UTCDateTime


class Prediction(Base):
    """改革预测: a published redesign, what the simulation predicted, and what was measured.

    Written when a redesign is published (the change point and the prediction); the
    measured effect is filled in once, after the chosen number of weeks.
    """

    __tablename__ = "simulation_predictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_code: Mapped[str] = mapped_column(String(64), index=True)
    from_process_id: Mapped[int] = mapped_column(
        ForeignKey("process_definitions.id", ondelete="RESTRICT")
    )
    to_process_id: Mapped[int] = mapped_column(
        ForeignKey("process_definitions.id", ondelete="RESTRICT")
    )
    proposal_key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    changes: Mapped[list[str]] = mapped_column(JSON, default=list)
    assumptions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # kpi -> {"baseline", "predicted", "change", "change_low", "change_high"}
    predicted: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    in_person_before: Mapped[list[str]] = mapped_column(JSON, default=list)
    in_person_after: Mapped[list[str]] = mapped_column(JSON, default=list)
    change_point: Mapped[datetime] = mapped_column(UTCDateTime())
    baseline_since: Mapped[datetime] = mapped_column(UTCDateTime())
    evaluate_after_weeks: Mapped[int] = mapped_column(Integer, default=4)
    published_by: Mapped[str] = mapped_column(String(64))
    measured: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
