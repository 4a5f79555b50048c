"""HTTP transport: one httpx.AsyncClient, TLS trust, error mapping, session header, re-login.

Every request goes through ``Transport.call``. It maps each way a request can fail onto one error
type with a one-line message (never a request body), and handles an expired session:

- ``auth="retry"`` (reads): on NotAuthenticated (500 fault or 401) log in again once and replay;
- ``auth="raise"`` (session-scoped state such as views/filters/long-polls, and non-idempotent
  calls): log in again, then raise ``SessionRenewed`` so the caller re-creates its state or checks
  what happened before calling again;
- ``auth="none"`` (Login itself, Logout): no re-login.
"""

from __future__ import annotations

import asyncio
import json
import platform
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import httpx

from tui import __version__
from tui.vsphere.errors import (
    BadResponse,
    ConnectError,
    GuestnetError,
    InternalSignal,
    RequestTimeout,
    TLSVerifyError,
    TransportError,
    VimFault,
)
from tui.vsphere.models import Fault, TLSSpec
from tui.vsphere.tls import PinMismatch, build_context, find_ssl_error, pin_hint
from tui.vsphere.wire import decode_fault, is_fault_body, method_path

AuthMode = Literal["retry", "raise", "none"]
SESSION_HEADER = "vmware-api-session-id"


def user_agent() -> str:
    system = platform.system().lower() or "unknown"
    return f"guestnet/{__version__} (python/{platform.python_version()}; {system})"


class SessionRenewed(InternalSignal):
    """A call met an expired session; the client has logged in again but did not replay the call.

    An internal signal, not a user-facing error: the caller re-creates its session-scoped objects
    (views, collectors, filters) or checks whether a non-idempotent call had an effect, then calls
    again. A caller that gives up raises ``as_error()`` instead.
    """

    def __init__(self, request: str) -> None:
        self.request = request
        super().__init__(f"session expired during {request}; logged in again")

    def as_error(self) -> VimFault:
        """The user-facing error for a session that keeps expiring under the caller's feet."""
        return VimFault(SESSION_KEEPS_EXPIRING, request=self.request)


SESSION_KEEPS_EXPIRING = Fault("NotAuthenticated", "the session keeps expiring")


def _one_line(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Transport:
    def __init__(
        self,
        host: str,
        port: int,
        tls: TLSSpec,
        timeout: float,
        *,
        http_transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        max_connections: int = 64,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.ssl_context, self.tls_mode, self.cert = build_context(tls)
        netloc = f"[{host}]" if ":" in host and not host.startswith("[") else host
        self.base_url = f"https://{netloc}:{port}"
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            verify=self.ssl_context,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": user_agent(), "Accept": "application/json"},
            transport=http_transport,
            event_hooks=dict(event_hooks) if event_hooks else None,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            trust_env=False,
        )
        self.prefix = ""  # "/sdk/vim25/<release>" once the release is known
        self.session_id: str | None = None
        self.session_gen = 0  # +1 per re-login: session-scoped objects carry theirs (``scope``)
        self.session_user: str | None = None  # UserSession.userName of the latest Login
        self.last_activity = time.monotonic()
        self.request_count = 0
        self.relogin: Callable[[], Awaitable[None]] | None = None
        self._login_lock = asyncio.Lock()

    # ---------------------------------------------------------------- session header

    def set_session(self, token: str | None) -> None:
        self.session_id = token
        if token:
            self.http.headers[SESSION_HEADER] = token
        else:
            self.http.headers.pop(SESSION_HEADER, None)

    # ---------------------------------------------------------------- calls

    async def invoke(
        self,
        mo_type: str,
        moid: str,
        method: str,
        body: Mapping[str, Any] | None = None,
        *,
        auth: AuthMode = "retry",
        timeout_s: float | None = None,
        scope: int | None = None,
    ) -> Any:
        """POST a vim25 method; returns the decoded JSON result (None for void).

        ``scope``: the session generation that created the session-scoped objects the call
        uses (views, collectors, filters); if the session has been renewed since, the call
        raises SessionRenewed (without a request, or when its answer comes back).
        """
        path = self.prefix + method_path(mo_type, moid, method)
        return await self.call("POST", path, body, auth=auth, timeout_s=timeout_s, scope=scope)

    async def get_property(
        self, mo_type: str, moid: str, prop: str, *, auth: AuthMode = "retry"
    ) -> Any:
        path = self.prefix + method_path(mo_type, moid, prop)
        return await self.call("GET", path, None, auth=auth)

    async def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        auth: AuthMode = "retry",
        timeout_s: float | None = None,
        scope: int | None = None,
    ) -> Any:
        if scope is not None and scope != self.session_gen:
            # the session-scoped objects this call refers to died with an earlier session
            raise SessionRenewed(f"{method} {path}")
        gen = self.session_gen
        try:
            return await self.send(method, path, body, timeout_s=timeout_s)
        except VimFault as e:
            if scope is not None and scope != self.session_gen:
                raise SessionRenewed(f"{method} {path}") from None
            if e.type_name != "NotAuthenticated" or auth == "none" or self.relogin is None:
                raise
        await self.renew_session(gen)
        if auth == "retry":
            return await self.send(method, path, body, timeout_s=timeout_s)
        raise SessionRenewed(f"{method} {path}")

    async def renew_session(self, seen_gen: int) -> None:
        """Log in again unless another request already did since generation ``seen_gen``."""
        async with self._login_lock:
            if self.session_gen != seen_gen or self.relogin is None:
                return
            await self.relogin()
            self.session_gen += 1

    async def send(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        timeout_s: float | None = None,
    ) -> Any:
        """One HTTP exchange; every failure becomes a GuestnetError with a one-line message."""
        result, _ = await self.send_with_headers(method, path, body, timeout_s=timeout_s)
        return result

    async def send_with_headers(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        timeout_s: float | None = None,
    ) -> tuple[Any, httpx.Headers]:
        where = f"{method} {path.split('?', 1)[0]}"
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"} if content is not None else None
        error: GuestnetError | None = None
        response: httpx.Response | None = None
        try:
            response = await self.http.request(
                method,
                path,
                content=content,
                headers=headers,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout_s is None else httpx.Timeout(timeout_s),
            )
        except httpx.TimeoutException as e:
            kind = type(e).__name__.replace("Timeout", " timeout").strip().lower()
            limit = self.timeout if timeout_s is None else timeout_s
            error = RequestTimeout(
                f"{self.host}:{self.port} did not answer within {limit:g} s ({kind}; {where})"
            )
        except httpx.ConnectError as e:
            error = self._connect_error(e, where)
        except httpx.DecodingError as e:  # a Content-Encoding the body does not match
            error = BadResponse(
                f"the answer from {where} cannot be decoded ({_one_line(str(e), 80)})"
            )
        except httpx.RequestError as e:  # dropped connection, protocol error, ...
            error = ConnectError(
                f"connection to {self.host}:{self.port} failed during {where}: "
                f"{_one_line(str(e)) or type(e).__name__}"
            )
        finally:
            content = None  # the body may hold a secret: do not keep it around
        if error is not None:
            # Raised outside the except block: no httpx exception (which holds the request and
            # its body) is attached as __context__.
            raise error
        assert response is not None
        self.request_count += 1
        self.last_activity = time.monotonic()
        return self._decode(response, where), response.headers

    def _connect_error(self, e: httpx.ConnectError, where: str) -> TransportError:
        ssl_err = find_ssl_error(e)
        if isinstance(ssl_err, PinMismatch):
            presented = ssl_err.presented.sha256
            return TLSVerifyError(
                f"certificate of {self.host}:{self.port} does not match the pinned "
                f"{'SHA-256' if ssl_err.algo == 'sha256' else 'SHA-1'} thumbprint"
                + pin_hint(self.host, self.port, presented),
                presented_sha256=presented,
            )
        if isinstance(ssl_err, ssl.SSLCertVerificationError):
            reason = (
                getattr(ssl_err, "verify_message", None)
                or getattr(ssl_err, "reason", None)
                or "verification failed"
            )
            return TLSVerifyError(
                f"certificate of {self.host}:{self.port} is not trusted ({reason})",
                presented_sha256=None,
            )
        if ssl_err is not None:
            return TLSVerifyError(
                f"TLS handshake with {self.host}:{self.port} failed: "
                f"{_one_line(ssl_err.reason or str(ssl_err))}"
            )
        text = _one_line(str(e)) or "connection failed"
        return ConnectError(f"cannot connect to {self.host}:{self.port}: {text}")

    def _decode(self, response: httpx.Response, where: str) -> Any:
        status = response.status_code
        raw = response.content
        if status == 204:
            return None
        if status == 200:
            if not raw.strip():
                return None
            try:
                return json.loads(raw)
            except ValueError:
                ctype = response.headers.get("content-type", "no content type")
                raise BadResponse(
                    f"HTTP 200 from {where} is not JSON ({_one_line(ctype, 60)})"
                ) from None
        if status == 401:
            fault = Fault(
                type_name="NotAuthenticated",
                message="HTTP 401 Unauthorized: the session is not authenticated",
            )
            raise VimFault(fault, request=where)
        if status == 500 and raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if is_fault_body(body):
                raise VimFault(decode_fault(body), request=where)
        ctype = response.headers.get("content-type", "")
        kind = "empty body" if not raw.strip() else (f"{ctype.split(';')[0]}" or "unknown type")
        phrase = response.reason_phrase or ""
        raise BadResponse(
            f"HTTP {status} {phrase} from {where} is not a vSphere answer ({kind})".replace(
                "  ", " "
            )
        )

    async def aclose(self) -> None:
        await self.http.aclose()
