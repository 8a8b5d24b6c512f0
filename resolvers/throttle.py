"""Abuse limits that hold across processes: failed logins and operations per second.

The counts live in a shared store (Redis, or memory on the embedded default); this
module is the policy: which key, which window, and when to answer RATE_LIMITED.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from realtime import metrics
from realtime.limit_store import Counters
from realtime.operation_budget import OperationBudget
from resolvers.errors import RateLimited


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    login_failures_per_email: int
    login_failures_per_address: int
    login_cooldown_seconds: int
    operations_per_second: int


@dataclass(frozen=True, slots=True)
class Throttle:
    counters: Counters
    budget: OperationBudget
    limits: ThrottleLimits

    async def login_attempt(self, email: str, address: str) -> None:
        """Counts the attempt as a failure of the email and of the address before the
        password is checked (so parallel guesses cannot all slip under the cap);
        RATE_LIMITED while either is past its cap, until its cool-down ends."""
        for key, cap in self._login_keys(email, address):
            window = await self.counters.hit(key, self.limits.login_cooldown_seconds)
            if window.count > cap:
                metrics.rate_limited("login")
                wait = max(1, math.ceil(window.resets_in))
                raise RateLimited(
                    f"too many failed logins: try again in {wait} s",
                    retryAfterSeconds=wait,
                )

    async def login_succeeded(self, email: str, address: str) -> None:
        """A success forgives the email its failures, and is no failure of the address."""
        await self.counters.clear(_email_key(email))
        await self.counters.take_back(_address_key(address))

    async def operation(self, subject: str) -> None:
        """Counts one operation by `subject` (a user, or an address when signed out); well
        under the cap without waiting on the shared store (realtime.operation_budget)."""
        cap = self.limits.operations_per_second
        if not await self.budget.admit(subject, cap):
            metrics.rate_limited("operations")
            raise RateLimited(
                f"at most {cap} operations per second (OPERATIONS_PER_SECOND)",
                retryAfterSeconds=1,
            )

    def _login_keys(self, email: str, address: str) -> tuple[tuple[str, int], ...]:
        return (
            (_email_key(email), self.limits.login_failures_per_email),
            (_address_key(address), self.limits.login_failures_per_address),
        )


def _email_key(email: str) -> str:
    return f"login:email:{email.strip().lower()}"


def _address_key(address: str) -> str:
    return f"login:address:{address}"
