"""Communications, tasks and orders recorded on an opportunity: each under its campaign's
lock, which refuses them while the campaign is archived."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from models import Communication, CommunicationKind, Opportunity, Order, Task, User
from resolvers import retry_keys
from resolvers.customers import user_pk
from resolvers.errors import BadUserInput
from resolvers.validation import clean_amount, clean_optional_text, clean_text
from resolvers.writes import campaign_write


async def log_communication(
    card: Opportunity,
    author: User,
    *,
    kind: CommunicationKind,
    content: str,
    occurred_at: datetime | None,
) -> Communication:
    """Logged on the card, and so on its customer's communications too."""
    content = clean_text(content, "content")
    async with campaign_write(card.campaign_id):
        communication = await Communication.create(
            kind=kind,
            content=content,
            occurred_at=occurred_at or datetime.now(UTC),
            author_id=author.pk,
            customer_id=card.customer_id,
            opportunity_id=card.pk,
        )
        retry_keys.remember(Communication=communication.pk)
    return communication


async def create_task(
    card: Opportunity,
    members: list[int],
    *,
    title: str,
    due_at: datetime | None,
    assignee_id: str | None,
) -> Task:
    """A task on the card, for the campaign's manager or one of its participants."""
    assignee = None if assignee_id is None else await user_pk(assignee_id, "assigneeId")
    if assignee is not None and assignee not in members:
        raise BadUserInput(
            "assigneeId: the assignee must be the campaign's manager or a participant",
            field="assigneeId",
        )
    title = clean_text(title, "title")
    async with campaign_write(card.campaign_id):
        task = await Task.create(
            title=title, due_at=due_at, assignee_id=assignee, opportunity_id=card.pk
        )
        retry_keys.remember(Task=task.pk)
    return task


async def complete_task(task: Task) -> Task:
    card = await Opportunity.get(id=task.opportunity_id).only("id", "campaign_id")
    async with campaign_write(card.campaign_id):
        retry_keys.remember(Task=task.pk)
        task = await Task.select_for_update().get(id=task.pk)
        if not task.done:
            task.done = True
            await task.save()
    return task


async def create_order(
    card: Opportunity, author: User, *, amount: Decimal, note: str | None
) -> Order:
    amount = clean_amount(amount)
    note = clean_optional_text(note, "note")
    async with campaign_write(card.campaign_id):
        order = await Order.create(
            amount=amount,
            note=note,
            opportunity_id=card.pk,
            customer_id=card.customer_id,
            campaign_id=card.campaign_id,
            created_by_id=author.pk,
        )
        retry_keys.remember(Order=order.pk)
    return order
