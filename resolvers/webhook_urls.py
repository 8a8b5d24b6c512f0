"""Where a webhook may send: its URL's rules, and the addresses its host resolves to.

A receiver must be an https URL on the public internet. The host is resolved when the
webhook is created and again before every attempt, and every address it resolves to
must be public (not private, loopback, link-local, shared, reserved or multicast): a
name that later points inside the network (DNS rebinding) is refused then. The attempt
connects to the address that was checked, not to a second lookup's. WEBHOOK_ALLOW_PRIVATE
lifts the address rule and allows http, as development does for http.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from resolvers.errors import BadUserInput

MAX_URL_LENGTH = 2048
RESOLVE_SECONDS = 5
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedReceiver(Exception):
    """The URL or the addresses it resolves to are not allowed; the message says why."""


@dataclass(frozen=True, slots=True)
class UrlRules:
    allow_http: bool = False  # development, or WEBHOOK_ALLOW_PRIVATE
    allow_private: bool = False  # WEBHOOK_ALLOW_PRIVATE


@dataclass(frozen=True, slots=True)
class Receiver:
    """A checked URL and the addresses its host resolved to, all checked: an attempt
    connects to one of them, in order."""

    url: SplitResult
    addresses: tuple[IPAddress, ...]

    @property
    def host(self) -> str:
        assert self.url.hostname is not None, "checked_url refuses a URL without a host"
        return self.url.hostname

    @property
    def port(self) -> int:
        return self.url.port or (443 if self.url.scheme == "https" else 80)

    def connect_url(self, address: IPAddress) -> str:
        """The URL with a checked address in place of the host name."""
        shown = f"[{address}]" if address.version == 6 else str(address)
        return self.url._replace(netloc=f"{shown}:{self.port}").geturl()

    def host_header(self) -> str:
        default = 443 if self.url.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def checked_url(raw: str, rules: UrlRules) -> SplitResult:
    """The URL's form: https (or http when allowed), a host, no user or password."""
    if len(raw) > MAX_URL_LENGTH:
        raise RefusedReceiver(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        url = urlsplit(raw.strip())
        url.port  # noqa: B018  (a malformed port raises here)
    except ValueError as error:
        raise RefusedReceiver(f"the URL is malformed ({error})") from None
    schemes = ("https", "http") if rules.allow_http else ("https",)
    if url.scheme not in schemes:
        raise RefusedReceiver(
            "the URL must use https" if not rules.allow_http else "the URL must use http(s)"
        )
    if not url.hostname:
        raise RefusedReceiver("the URL has no host")
    if url.username is not None or url.password is not None:
        raise RefusedReceiver("the URL may not carry a user name or password")
    return url


async def receiver(raw: str, rules: UrlRules) -> Receiver:
    """The URL checked and its host resolved, every address allowed; RefusedReceiver
    otherwise."""
    url = checked_url(raw, rules)
    addresses = await _resolve(url)
    for address in addresses:
        if not rules.allow_private and not is_public(address):
            named = "is" if url.hostname == str(address) else f"resolves to {address},"
            raise RefusedReceiver(
                f"{url.hostname} {named} a private, loopback or reserved address (allowed "
                "only with WEBHOOK_ALLOW_PRIVATE)"
            )
    return Receiver(url, tuple(addresses))


async def creatable_url(raw: str, rules: UrlRules) -> str:
    """`raw` when a webhook may be created with it; BAD_USER_INPUT on `url` otherwise."""
    try:
        async with asyncio.timeout(RESOLVE_SECONDS):
            await receiver(raw, rules)
    except RefusedReceiver as refused:
        raise BadUserInput(f"url: {refused}", field="url") from None
    except TimeoutError:
        raise BadUserInput(
            f"url: its host did not resolve within {RESOLVE_SECONDS} s", field="url"
        ) from None
    return raw.strip()


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def _resolve(url: SplitResult) -> list[IPAddress]:
    host = url.hostname
    assert host is not None
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, url.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise RefusedReceiver(f"{host} does not resolve ({error})") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(entry[4][0]) for entry in found))
    if not addresses:
        raise RefusedReceiver(f"{host} does not resolve")
    return addresses
