"""Integration routes only: webhook subscriptions and the dead-letter list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from onewindow.integration import service as integration
from onewindow.integration.models import OutboxMessage, Subscription
from onewindow.kit.http import CtxDep
from onewindow.security.authz import require
from onewindow.security.schemas import Principal

router = APIRouter(tags=["integration"])


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2000, description="http(s) URL to POST events to")
    topics: list[str] = Field(min_length=1, description=f"any of {', '.join(integration.TOPICS)}")
    department: str | None = Field(
        default=None, description="only events concerning this department code; omit for all"
    )


class SubscriptionOut(BaseModel):
    id: int
    name: str
    url: str
    topics: list[str]
    department: str | None
    active: bool
    created_at: datetime
    created_by: str
    deactivated_at: datetime | None


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="HMAC signing secret; shown this once, store it now")


class MessageOut(BaseModel):
    id: str
    subscription_id: int
    topic: str
    payload: dict[str, Any]
    created_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


class DeadLettersOut(BaseModel):
    items: list[MessageOut]
    total: int
    limit: int
    offset: int


class ReplayedOut(BaseModel):
    replayed: int


def _subscription(sub: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=sub.id,
        name=sub.name,
        url=sub.url,
        topics=list(sub.topics),
        department=sub.department,
        active=sub.active,
        created_at=sub.created_at,
        created_by=sub.created_by,
        deactivated_at=sub.deactivated_at,
    )


def _message(msg: OutboxMessage) -> MessageOut:
    return MessageOut(
        id=msg.id,
        subscription_id=msg.subscription_id,
        topic=msg.topic,
        payload=msg.payload,
        created_at=msg.created_at,
        status=msg.status,
        attempts=msg.attempts,
        next_attempt_at=msg.next_attempt_at,
        last_error=msg.last_error,
        delivered_at=msg.delivered_at,
    )


@router.post(
    "/integration/subscriptions",
    response_model=SubscriptionCreated,
    status_code=status.HTTP_201_CREATED,
)
def create_subscription(
    body: SubscriptionIn, ctx: CtxDep, who: Annotated[Principal, require("admin.manage")]
) -> SubscriptionCreated:
    sub, secret = integration.create_subscription(
        ctx, body.name, body.url, body.topics, body.department, actor=who.name
    )
    return SubscriptionCreated(**_subscription(sub).model_dump(), secret=secret)


@router.get("/integration/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(
    ctx: CtxDep,
    _: Annotated[Principal, require("admin.manage")],
    include_inactive: bool = True,
) -> list[SubscriptionOut]:
    return [
        _subscription(s)
        for s in integration.list_subscriptions(ctx, include_inactive=include_inactive)
    ]


@router.delete("/integration/subscriptions/{subscription_id}", response_model=SubscriptionOut)
def deactivate_subscription(
    subscription_id: int, ctx: CtxDep, who: Annotated[Principal, require("admin.manage")]
) -> SubscriptionOut:
    return _subscription(integration.deactivate_subscription(ctx, subscription_id, actor=who.name))


@router.get("/integration/dead-letters", response_model=DeadLettersOut)
def dead_letters(
    ctx: CtxDep,
    _: Annotated[Principal, require("admin.manage")],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    subscription_id: int | None = None,
) -> DeadLettersOut:
    page = integration.dead_letters(ctx, limit, offset, subscription_id=subscription_id)
    return DeadLettersOut(
        items=[_message(m) for m in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/integration/dead-letters/replay", response_model=ReplayedOut)
def replay_all_dead(
    ctx: CtxDep,
    who: Annotated[Principal, require("admin.manage")],
    subscription_id: int | None = None,
) -> ReplayedOut:
    return ReplayedOut(
        replayed=integration.replay_all_dead(ctx, actor=who.name, subscription_id=subscription_id)
    )


@router.post("/integration/dead-letters/{message_id}/replay", response_model=MessageOut)
def replay(
    message_id: str, ctx: CtxDep, who: Annotated[Principal, require("admin.manage")]
) -> MessageOut:
    return _message(integration.replay(ctx, message_id, actor=who.name))
