"""Shared fixtures: the embedded vCenter simulator over real HTTPS on 127.0.0.1.

- ``sim_factory(**opts) -> SimHandle``: a fresh server per call, stopped at teardown.
  ``opts`` are ``SimServer`` keyword arguments: ``vms``, ``seed``, ``inventory`` (path or dict),
  ``task_seconds`` (default here 0.3), ``max_running_tasks``, ``session_timeout``,
  ``latency_ms``, ``vc_user``, ``vc_password``, ``extra_users`` (``{name: password}``, more
  vCenter accounts), ``guest_user``, ``guest_password``, ``hello`` (False = an 8.0U1 server: no
  hello endpoint, only release 8.0.1.0), ``releases``, ``record`` (keep every exchange:
  ``handle.exchanges()``), ``recent_task_seconds``.
- ``sim``: ``sim_factory()`` with the shipped example inventory (tui/sim/inventory.example.yaml,
  42 VMs, every StartGuestNetwork fault in sync and task mode) and 0.3 s tasks.
  ``sim.fault_vms["InvalidGuestLogin"]`` lists the VM names that raise that fault (any mode),
  ``sim.fault_vms["InvalidGuestLogin:task"]`` / ``":sync"`` per mode; ``sim.ok_vms`` lists VMs
  whose StartGuestNetwork succeeds with ``sim.guest_user`` / ``sim.guest_password``.
- ``sim_module`` / ``sim_session``: one shared server per test module / test session (same
  inventory and options as ``sim``). Tests that share it must not rely on global counters and
  should leave the VMs they change as they found them.

``SimHandle`` is ``tui.sim.server.SimServer``: ``url``, ``host``, ``port``, ``ca_file``,
``thumbprint_sha256``, ``thumbprint_sha1``, ``username``, ``password``, ``guest_user``,
``guest_password`` and the thread-safe control API (``set_power``, ``set_tools``, ``set_ip``,
``set_vm``, ``add_vm``, ``remove_vm``, ``lose_start_reply``, ``expire_sessions``, ``restart``,
``stats``, ``tasks``, ``task``, ``vm``, ``vm_names``, ``exchanges``, ``clear_exchanges``). See
docs/simulator.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tui.sim.server import SimServer

SimHandle = SimServer
FAST_TASKS = 0.3


def _start(**opts: Any) -> SimServer:
    opts.setdefault("task_seconds", FAST_TASKS)
    return SimServer(**opts).start()


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., SimServer]]:
    servers: list[SimServer] = []

    def make(**opts: Any) -> SimServer:
        server = _start(**opts)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def sim(sim_factory: Callable[..., SimServer]) -> SimServer:
    return sim_factory()


@pytest.fixture(scope="module")
def sim_module() -> Iterator[SimServer]:
    server = _start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sim_session() -> Iterator[SimServer]:
    server = _start()
    yield server
    server.stop()


@pytest.fixture
def isolated_env(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The test runs without the host's GOVC_*/GUESTNET_*/XDG_* variables and with a private home,
    ``tmp_path / "home"`` (returned); see tests/isolation.py. tests/cli, tests/config and tests/ui
    apply it to every test."""
    from tests.isolation import isolate
    from tui.config import paths

    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    isolate(monkeypatch, home)
    yield home
    paths.use_profiles_file(None)
