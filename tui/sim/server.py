"""``SimServer``: the simulator served by uvicorn over HTTPS on its own event-loop thread."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import trustme
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tui.sim.app import Exchange, SimApp
from tui.sim.clock import Clock
from tui.sim.clones import check_clone_options
from tui.sim.control import Control
from tui.sim.errors import SimError
from tui.sim.generate import generate_inventory
from tui.sim.inventory import Inventory, example_inventory, load_inventory
from tui.sim.options import SimOptions
from tui.sim.state import State

T = TypeVar("T")
# uvicorn logs through "uvicorn.*"; keep it quiet unless the application configures logging
# (the CLI does).
logging.getLogger("uvicorn").addHandler(logging.NullHandler())


class SimServer(Control):
    """An embedded vCenter simulator speaking VI/JSON over HTTPS on 127.0.0.1.

    Typical in-process use (what ``guestnet demo`` and the test fixtures do)::

        sim = SimServer(vms=200, seed=1).start()      # or SimServer(inventory="inv.yaml")
        try:
            print(sim.url, sim.ca_file, sim.username, sim.password)
            ...                                       # point a client at sim.url
        finally:
            sim.stop()                                # or: with SimServer(...) as sim: ...

    ``start()`` generates a throw-away CA and a server certificate for 127.0.0.1/localhost
    (``ca_file`` is the CA in PEM; ``thumbprint_sha256`` / ``thumbprint_sha1`` are the server
    certificate's fingerprints as upper-case colon hex), runs uvicorn on a background thread with
    its own event loop and returns once the port accepts connections. ``port=0`` picks a free port.

    Inventory: ``inventory`` (a YAML path or an already-parsed mapping, see docs/simulator.md), or
    ``vms``/``seed`` for a generated one; with neither, the shipped example inventory is used.

    Options: ``**options`` are the fields of ``tui.sim.options.SimOptions`` (the ``guestnet sim``
    flags and a few in-process ones such as ``extra_users``, ``releases``, ``record``; the table
    in docs/simulator.md). An invalid value raises ``SimError``, an unknown name ``TypeError``.

    Time: ``clock`` (``tui.sim.clock``; default real time) is the one clock of the simulator,
    ``self.clock``. A test passes a ``ManualClock`` and advances it from its own thread.

    Every control method (``set_power``, ``set_tools``, ``set_ip``, ``set_vm``, ``add_vm``,
    ``clone_vm``, ``remove_vm``, ``lose_start_reply``, ``expire_sessions``, ``restart``,
    ``stats``, ``tasks``, ``vm``, ``exchanges``) is safe to call from any thread or event loop:
    it runs on the server's loop and waits for it.

    Clones: ``clone_rate`` (per minute) makes instant clones appear on the clock, ``clone_vm``
    one now (``tui/sim/clones.py``).
    """

    def __init__(
        self,
        inventory: str | Path | dict[str, Any] | Inventory | None = None,
        *,
        clock: Clock | None = None,
        **options: Any,
    ) -> None:
        self.options = SimOptions(inventory=inventory, **options)
        # the simulator's time (tui/sim/clock.py); a ManualClock may be advanced from any thread
        self.clock = clock or Clock()
        opts = self.options
        if isinstance(opts.inventory, Inventory):
            self.inventory = opts.inventory
        elif opts.inventory is not None:
            self.inventory = load_inventory(opts.inventory)
        elif opts.vms is not None:
            self.inventory = generate_inventory(opts.vms, opts.seed)
        else:
            self.inventory = example_inventory()
        check_clone_options(opts, self.inventory)
        self.host = opts.host
        self.port = opts.port
        self.tls = opts.tls
        self._cert_dir = Path(opts.cert_dir) if opts.cert_dir is not None else None
        self._tmp: str | None = None
        self.ca_file = ""
        self.thumbprint_sha256 = ""
        self.thumbprint_sha1 = ""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._state: State | None = None
        self._app: SimApp | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._restart = False
        self._down_seconds = 0.0
        self._stopping = False
        self._exit: asyncio.Event
        self.fault_vms: dict[str, list[str]] = {}
        self.vm_faults: dict[str, tuple[str, str]] = {}
        self.ok_vms: list[str] = []
        self.keep_ip_vms: list[str] = []

    # -- credentials ---------------------------------------------------------------------------

    @property
    def username(self) -> str:
        return self.options.vc_user

    @property
    def password(self) -> str:
        return self.options.vc_password

    @property
    def guest_user(self) -> str:
        return self.options.guest_user

    @property
    def guest_password(self) -> str:
        return self.options.guest_password

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def info(self) -> dict[str, Any]:
        """The JSON object ``guestnet sim`` prints first."""
        return {
            "url": self.url,
            "ca_file": self.ca_file or None,
            "thumbprint_sha256": self.thumbprint_sha256 or None,
            "username": self.username,
            "password": self.password,
        }

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> SimServer:
        if self._thread is not None:
            raise SimError("the simulator is already started")
        # a stopped server may be started again: nothing of the previous run may count
        self._ready.clear()
        self._start_error = None
        self._restart = self._stopping = False
        if self.tls:
            try:
                self._make_certs()
            except SimError:
                self.stop()
                raise
        self._thread = threading.Thread(target=self._thread_main, name="guestnet-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise SimError(f"the simulator did not start within {timeout:.0f} s")
        if self._start_error is not None:
            err = self._start_error
            self.stop()
            if isinstance(err, OSError):
                raise SimError(
                    f"cannot listen on {self.host}:{self.port}: {err.strerror or err}"
                ) from None
            raise SimError(f"the simulator failed to start: {err}") from None
        self.snapshot_faults()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        self._stopping = True
        if loop is not None and thread is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._request_exit)
            thread.join(timeout)
        self._thread = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> SimServer:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def restart(self, down_seconds: float = 0.0, timeout: float = 30.0) -> None:
        """Simulate a vCenter restart: every session is lost, the listener closes and reopens
        on the same port after ``down_seconds``. Inventory and tasks survive."""
        self._ready.clear()
        self._down_seconds = down_seconds

        def go() -> None:
            assert self._state is not None and self._loop is not None
            self._restart = True
            self._state.sessions.drop_all()
            self._exit.set()

        self.call(go)
        if not self._ready.wait(timeout):
            raise SimError("the simulator did not come back after restart")
        if self._start_error is not None:
            raise SimError(f"the simulator failed to restart: {self._start_error}")

    def _request_exit(self) -> None:
        if self._state is not None:
            self._state.shutdown()
        self._exit.set()

    def _make_certs(self) -> None:
        ca = trustme.CA(organization_name="guestnet simulator")
        names = ["127.0.0.1", "localhost", "::1"]
        if self.host not in (*names, "0.0.0.0", "::", ""):
            names.append(self.host)  # e.g. --host 192.0.2.10: the certificate names it too
        cert = ca.issue_cert(*names)
        self._tmp = tempfile.mkdtemp(prefix="guestnet-sim-")
        tmp = Path(self._tmp)
        if self._cert_dir is not None:
            try:
                self._cert_dir.mkdir(parents=True, exist_ok=True)
                ca.cert_pem.write_to_path(str(self._cert_dir / "ca.pem"))
            except OSError as exc:
                raise SimError(
                    f"cannot write {self._cert_dir / 'ca.pem'}: {exc.strerror or exc}"
                ) from None
            self.ca_file = str((self._cert_dir / "ca.pem").resolve())
        else:
            ca.cert_pem.write_to_path(str(tmp / "ca.pem"))
            self.ca_file = str(tmp / "ca.pem")
        cert.private_key_pem.write_to_path(str(tmp / "server.key"))
        chain = b"".join(blob.bytes() for blob in cert.cert_chain_pems)
        (tmp / "server.pem").write_bytes(chain)
        der = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()).public_bytes(
            serialization.Encoding.DER
        )
        self.thumbprint_sha256 = _colon_hex(hashlib.sha256(der).digest())
        self.thumbprint_sha1 = _colon_hex(hashlib.sha1(der).digest())

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # accepted connections inherit it: without it a response written as headers + body
            # waits for the client's delayed ACK (~40 ms per request)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((self.host, self.port))
            sock.listen(512)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        return sock

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._amain())
        except BaseException as exc:  # startup errors are reported by start()
            if not self._ready.is_set():
                self._start_error = exc
                self._ready.set()

    async def _amain(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._exit = asyncio.Event()
        self._state = State(self.inventory, self.options, self.clock)
        gc.freeze()  # the inventory lives as long as the server: keep it out of GC passes
        self._app = SimApp(self._state, self._abort_connection)
        sweeper = asyncio.create_task(_sweep(self._state))
        # clones keep appearing while a restart has the listener down, as in a real pool
        cloner = asyncio.create_task(self._state.clones.run())
        try:
            while True:
                try:
                    sock = self._bind()
                except OSError as exc:
                    self._start_error = exc
                    self._ready.set()
                    return
                tmp = Path(self._tmp) if self._tmp else None
                config = uvicorn.Config(
                    self._app,
                    log_config=None,
                    access_log=False,
                    lifespan="off",
                    ws="none",
                    timeout_keep_alive=30,
                    ssl_certfile=str(tmp / "server.pem") if tmp and self.tls else None,
                    ssl_keyfile=str(tmp / "server.key") if tmp and self.tls else None,
                )
                config.load()
                server = uvicorn.Server(config)
                # uvicorn's own serve() polls for exit every 0.1 s and lingers on shutdown;
                # drive startup ourselves and close fast (see _close).
                server.lifespan = config.lifespan_class(config)
                self._uvicorn = server
                try:
                    await server.startup(sockets=[sock])
                    self._ready.set()
                    await self._exit.wait()
                finally:
                    await _close(server)
                    sock.close()
                self._exit.clear()
                if self._restart and not self._stopping:
                    self._restart = False
                    if self._down_seconds > 0:
                        await asyncio.sleep(self._down_seconds)
                    continue
                break
        finally:
            sweeper.cancel()
            cloner.cancel()
            state = self._state
            state.shutdown()
            state.tasks.cancel_all()
            await asyncio.sleep(0)

    def _abort_connection(self, client: tuple[str, int] | None) -> bool:
        """Close the connection of ``client`` (address, port) at once, without an answer."""
        server = self._uvicorn
        if server is None or client is None:
            return False
        for conn in list(server.server_state.connections):
            if tuple(getattr(conn, "client", None) or ()) == tuple(client):
                transport = getattr(conn, "transport", None)
                if transport is not None:
                    transport.abort()
                    return True
        return False

    # -- control API (thread-safe) -------------------------------------------------------------

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the server loop and return its result."""
        loop = self._loop
        if loop is None or self._thread is None:
            raise SimError("the simulator is not running")
        if threading.current_thread() is self._thread:
            return fn(*args)

        async def run() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=30)

    @property
    def state(self) -> State:
        """The live state; touch it only through ``call`` from other threads."""
        assert self._state is not None
        return self._state


async def _sweep(state: State) -> None:
    """Expire idle sessions on the clock, not only when one is used again or stats() is read: an
    abandoned session's filters would otherwise stay live and be checked on every change."""
    while True:
        await state.clock.sleep(min(60.0, state.options.session_timeout))
        state.sessions.sweep()


async def _close(server: uvicorn.Server) -> None:
    """Stop listening, give woken long-polls a moment to answer, then drop every connection
    (a TLS close handshake with an idle keep-alive client would otherwise hold the stop)."""
    for listener in getattr(server, "servers", []):
        listener.close()
    await asyncio.sleep(0.02)
    for conn in list(server.server_state.connections):
        transport = getattr(conn, "transport", None)
        if transport is not None:
            transport.abort()
    for task in list(server.server_state.tasks):
        task.cancel()
    await asyncio.sleep(0)


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02X}" for b in digest)


__all__ = ["Exchange", "SimError", "SimServer"]
