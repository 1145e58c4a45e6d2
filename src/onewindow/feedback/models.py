"""Tables of the feedback domain.

Ratings, tickets and survey answers are never rewritten once recorded: a bad rating that a
review excludes keeps its row (``excluded`` is set, with the reason), a reopened ticket keeps
every earlier task and event. The complaint loop of a ticket and the rectification of a bad
rating run as cases of the one case engine (``workflow``): ``case_id`` points at them, their
tasks sit in the departments' ordinary queues and their events in the one event log.

Raters', visitors', complainants' and respondents' phones and names are stored AES-256-GCM
encrypted like applicants' (``security.crypto.EncryptedText``); the phones looked up by value
(a rater's ratings, a complainant's tickets) have an HMAC blind index beside them, kept by
``@validates``. A targeted survey keeps its invitees as blind indexes, never as numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from onewindow.kit.db import Base, UTCDateTime
from onewindow.security.crypto import EncryptedText, blind_index

# The column names the ciphertexts and blind indexes are bound to (AES-GCM associated data).
VISITOR_PHONE = "feedback_visits.visitor_phone"
VISITOR_NAME = "feedback_visits.visitor_name"
RATER_PHONE = "feedback_ratings.rater_phone"
CONTACT_NAME = "feedback_tickets.contact_name"
CONTACT_PHONE = "feedback_tickets.contact_phone"
RESPONDENT_PHONE = "feedback_survey_responses.respondent_phone"
INVITEE_PHONE = "feedback_surveys.invitees"


def invitee_key(phone: str) -> str:
    """How a targeted survey remembers an invitee: the phone's blind index."""
    return blind_index(INVITEE_PHONE, phone)


class Visit(Base):
    """现场办事: one on-site visit at a window of the service hall (rated 一次一评)."""

    __tablename__ = "feedback_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    service_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_items.id", ondelete="RESTRICT"), default=None
    )
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    window: Mapped[str] = mapped_column(String(32))
    staff_username: Mapped[str] = mapped_column(String(64))
    visitor_phone: Mapped[str | None] = mapped_column(EncryptedText(VISITOR_PHONE), default=None)
    visitor_name: Mapped[str | None] = mapped_column(EncryptedText(VISITOR_NAME), default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Invitation(Base):
    """评价邀请: an invitation to rate one closed case or one finished visit.

    ``token`` is the secret in the SMS link, the hall tablet's page and the QR code.
    """

    __tablename__ = "feedback_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="RESTRICT"), unique=True, default=None
    )
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_visits.id", ondelete="RESTRICT"), unique=True, default=None
    )
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)  # portal, sms, tablet, qr
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Rating(Base):
    """好差评: one rating of one case (一事一评) or one visit (一次一评); levels 1–5.

    The unique keys make "one rating per case / per visit" a database fact, not only a check.
    """

    __tablename__ = "feedback_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="RESTRICT"), unique=True, default=None
    )
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_visits.id", ondelete="RESTRICT"), unique=True, default=None
    )
    channel: Mapped[str] = mapped_column(String(16))  # online | onsite
    level: Mapped[int]
    indicators: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    service_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_items.id", ondelete="RESTRICT"), index=True, default=None
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True, default=None
    )
    window: Mapped[str | None] = mapped_column(String(32), default=None)
    staff_username: Mapped[str | None] = mapped_column(String(64), default=None)
    rater_phone: Mapped[str | None] = mapped_column(EncryptedText(RATER_PHONE), default=None)
    rater_phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    real_name: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # counted | excluded (a review found it mistaken or malicious)
    status: Mapped[str] = mapped_column(String(16), default="counted")
    excluded_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    rectified: Mapped[bool] = mapped_column(default=False)
    # The rectification case (整改) a bad rating opened.
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT"), unique=True, default=None
    )

    @validates("rater_phone")
    def _index_rater_phone(self, _key: str, value: str | None) -> str | None:
        self.rater_phone_bidx = blind_index(RATER_PHONE, value) if value else None
        return value


class Ticket(Base):
    """工单: a complaint, suggestion or enquiry (12345-style), from any channel."""

    __tablename__ = "feedback_tickets"
    __table_args__ = (
        Index("ix_feedback_tickets_place_time", "district", "created_at"),
        UniqueConstraint("source", "source_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # complaint | suggestion | enquiry | praise
    channel: Mapped[str] = mapped_column(String(16))  # portal | hotline | window | import
    text: Mapped[str] = mapped_column(Text)
    normalised: Mapped[str] = mapped_column(Text)  # simplified, NFKC, no emoji: what is classified
    category: Mapped[str] = mapped_column(String(32), index=True)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    category_source: Mapped[str] = mapped_column(String(16))  # model | dispatcher | import
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True, default=None
    )
    district: Mapped[str | None] = mapped_column(String(32), default=None)
    street: Mapped[str | None] = mapped_column(String(64), default=None)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    contact_name: Mapped[str | None] = mapped_column(EncryptedText(CONTACT_NAME), default=None)
    contact_phone: Mapped[str | None] = mapped_column(EncryptedText(CONTACT_PHONE), default=None)
    contact_phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    # pending_acceptance | pending_assignment | pending_at_department | pending_closure |
    # resolved (waiting for the citizen's rating or reopening) | closed | not_accepted
    status: Mapped[str] = mapped_column(String(24), index=True)
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)  # resolved | rejected
    reply: Mapped[str | None] = mapped_column(Text, default=None)
    satisfaction: Mapped[int | None] = mapped_column(default=None)
    reopened: Mapped[int] = mapped_column(default=0)
    escalations: Mapped[int] = mapped_column(default=0)
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_tickets.id", ondelete="RESTRICT"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    handle_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64), default=None)  # import file label
    source_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    # The complaint case (12345 loop) of a ticket taken live; imported history has none.
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT"), unique=True, default=None
    )

    @validates("contact_phone")
    def _index_contact_phone(self, _key: str, value: str | None) -> str | None:
        self.contact_phone_bidx = blind_index(CONTACT_PHONE, value) if value else None
        return value


class Survey(Base):
    """问卷: questions, audience (open, or everyone who used a service in a period), dates."""

    __tablename__ = "feedback_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    anonymous: Mapped[bool] = mapped_column(default=True)
    # {"service": code, "since": iso date, "until": iso date} or {} for an open survey
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # blind indexes of the invitees' phones (``invitee_key``), when targeted
    invitees: Mapped[list[str]] = mapped_column(JSON, default=list)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_early_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))


class SurveyResponse(Base):
    """答卷: one respondent's answers; ``respondent_key`` (a hash) stops double answers."""

    __tablename__ = "feedback_survey_responses"
    __table_args__ = (UniqueConstraint("survey_id", "respondent_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_surveys.id", ondelete="RESTRICT"), index=True
    )
    respondent_key: Mapped[str | None] = mapped_column(String(64), default=None)
    respondent_phone: Mapped[str | None] = mapped_column(
        EncryptedText(RESPONDENT_PHONE), default=None
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # free-text answers' categories, by question id: {"q3": {"category": ..., "confidence": ...}}
    categories: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ImprovementItem(Base):
    """你说我改: a published improvement, with owner, milestones, progress and measured effect."""

    __tablename__ = "feedback_improvements"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT")
    )
    service_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_items.id", ondelete="RESTRICT"), default=None
    )
    status: Mapped[str] = mapped_column(String(16))  # planned | in_progress | live | done
    progress: Mapped[int] = mapped_column(default=0)  # percent
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    live_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    effect: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set when staff publish the item; a draft is not on the public board.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))


class ImprovementSource(Base):
    """What raised an improvement: a rating, a ticket or a survey answer."""

    __tablename__ = "feedback_improvement_sources"
    __table_args__ = (UniqueConstraint("item_id", "source_kind", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_improvements.id", ondelete="RESTRICT"), index=True
    )
    source_kind: Mapped[str] = mapped_column(String(16))  # rating | ticket | survey_response
    source_id: Mapped[int]


class ClassifierVersion(Base):
    """A retraining of the ticket classifier: what it learnt from and how well it scored."""

    __tablename__ = "feedback_classifier_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime())
    examples: Mapped[int]
    from_tickets: Mapped[int]
    accuracy: Mapped[float | None] = mapped_column(Float, default=None)
    macro_f1: Mapped[float | None] = mapped_column(Float, default=None)
    trained_by: Mapped[str] = mapped_column(String(64))
