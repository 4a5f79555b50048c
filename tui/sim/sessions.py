"""Sessions (SessionManager): login, idle expiry, logout, and the objects a session owns.

A session owns its ContainerViews, its PropertyCollectors (the default ``propertyCollector``
included) with their filters, and its unfinished RetrievePropertiesEx pagings; they all die with
it. Sessions expire after ``session_timeout`` idle seconds; a request in progress keeps its
session alive.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tui.sim.clock import Clock
from tui.sim.collector import Collector, Collectors, Retrieval
from tui.sim.faults import msg_fault
from tui.sim.objects import ContainerView, Entity, VirtualMachine
from tui.sim.options import SimOptions
from tui.sim.registry import Registry
from tui.sim.wire import JSON, fmt_time


@dataclass(eq=False)
class Session:
    key: str
    token: str = field(repr=False)  # the vmware-api-session-id: a credential
    user_name: str
    login_time: float
    last_active: float
    locale: str
    ip: str
    user_agent: str
    call_count: int = 0
    in_flight: int = 0
    views: dict[str, ContainerView] = field(default_factory=dict)
    collectors: dict[str, Collector] = field(default_factory=dict)  # includes the default
    retrievals: dict[str, Retrieval] = field(default_factory=dict)
    next_token: int = 1

    def user_session(self) -> JSON:
        return {
            "_typeName": "UserSession",
            "key": self.key,
            "userName": self.user_name,
            "fullName": self.user_name.split("@")[0].capitalize(),
            "loginTime": fmt_time(self.login_time),
            "lastActiveTime": fmt_time(self.last_active),
            "locale": self.locale,
            "messageLocale": self.locale,
            "extensionSession": False,
            "ipAddress": self.ip,
            "userAgent": self.user_agent,
            "callCount": self.call_count,
        }


class Sessions:
    def __init__(
        self,
        options: SimOptions,
        registry: Registry,
        collectors: Collectors,
        stats: dict[str, Any],
        clock: Clock,
    ) -> None:
        self.options = options
        self.clock = clock
        self.registry = registry
        self.collectors = collectors
        self.stats = stats
        self.by_token: dict[str, Session] = {}
        registry.enter_watchers.append(self._vm_entered)

    def login(self, user: str, password: str, locale: str | None, ip: str, agent: str) -> Session:
        accounts = {self.options.vc_user: self.options.vc_password, **self.options.extra_users}
        name = next((n for n in accounts if n.casefold() == user.casefold()), None)
        expected = accounts[name] if name is not None else self.options.vc_password
        ok_pw = secrets.compare_digest(password.encode(), expected.encode())
        if name is None or not ok_pw:
            self.stats["login_failures"] += 1
            raise msg_fault(
                "InvalidLogin",
                "vim.fault.InvalidLogin",
                "Cannot complete login due to an incorrect user name or password.",
            )
        now = self.clock.time()
        s = Session(
            key=str(uuid.uuid4()),
            token=secrets.token_hex(20),
            user_name=name,
            login_time=now,
            last_active=now,
            locale=locale or "en",
            ip=ip,
            user_agent=agent or "unknown",
        )
        self.by_token[s.token] = s
        self.stats["logins"] += 1
        return s

    def session_for(self, token: str | None) -> Session | None:
        """The live session of a ``vmware-api-session-id`` (an idle one expires here)."""
        if not token:
            return None
        s = self.by_token.get(token)
        if s is None:
            return None
        if self._idle_too_long(s, self.clock.time()):
            self.end(s, expired=True)
            return None
        return s

    @contextlib.contextmanager
    def in_request(self, s: Session | None) -> Iterator[None]:
        """A request of ``s`` runs: it keeps the session alive and counts as its activity."""
        if s is None:
            yield
            return
        s.in_flight += 1
        s.last_active = self.clock.time()
        s.call_count += 1
        try:
            yield
        finally:
            s.in_flight -= 1
            s.last_active = self.clock.time()

    def alive(self, s: Session) -> bool:
        return self.by_token.get(s.token) is s

    def _idle_too_long(self, s: Session, now: float) -> bool:
        return s.in_flight == 0 and now - s.last_active > self.options.session_timeout

    def sweep(self) -> None:
        now = self.clock.time()
        for s in list(self.by_token.values()):
            if self._idle_too_long(s, now):
                self.end(s, expired=True)

    def end(self, s: Session, expired: bool = False) -> None:
        if self.by_token.pop(s.token, None) is None:
            return
        if expired:
            self.stats["sessions_expired"] += 1
        # views are per session (see destroy_view): no other session's filter can start from one
        for v in s.views.values():
            v.destroyed = True
        for c in list(s.collectors.values()):
            self.collectors.destroy(c)
        s.views.clear()
        s.retrievals.clear()

    def drop_all(self) -> None:
        """A server restart: every session is gone (not counted as an idle expiry)."""
        for s in list(self.by_token.values()):
            self.end(s)

    def expire_all(self) -> int:
        n = 0
        for s in list(self.by_token.values()):
            self.end(s, expired=True)
            n += 1
        return n

    # -- views (ViewManager) -----------------------------------------------------------------

    def create_view(
        self, s: Session, container: Entity, types: list[str], recursive: bool
    ) -> ContainerView:
        v = ContainerView(
            f"session[{s.key}]{uuid.uuid4()}", self.registry, s, container, types, recursive
        )
        s.views[v.moid] = v
        return v

    def _vm_entered(self, vm: VirtualMachine) -> None:
        """A VM entered: the views that cover it add it to their members (no re-walk), and
        their ``view`` property changed."""
        for s in self.by_token.values():
            for v in s.views.values():
                if v.entered(vm):
                    self.collectors.touch(v.moid)

    def destroy_view(self, s: Session, v: ContainerView) -> None:
        """Only filters that start from ``v`` change: a view is named only by its own session
        (``State.lookup``) and no TraversalSpec path leads to a view. Other views keep their
        cached members (a structure change here made every filter in the server re-walk its
        views)."""
        s.views.pop(v.moid, None)
        v.destroyed = True
        for c in s.collectors.values():
            for f in c.filters.values():
                if any(o.obj is v for o in f.spec.objects):
                    f.needs_resolve = True
                    c.changed.set()
