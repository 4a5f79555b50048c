"""The fixture contract other layers rely on."""

from __future__ import annotations

import hashlib
import socket
import ssl

from tests.sim.vi import VI
from tui.sim.server import SimServer


async def test_sim_fixture_serves_https_with_its_ca(sim: SimServer) -> None:
    assert sim.url == f"https://127.0.0.1:{sim.port}" and sim.host == "127.0.0.1"
    async with VI(sim) as vi:
        r = await vi.login()
        assert r.status == 200 and vi.token
        assert r.body["userName"] == sim.username
    # the presented certificate matches the advertised thumbprints
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    with (
        socket.create_connection((sim.host, sim.port)) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    colon = lambda d: ":".join(f"{b:02X}" for b in d)  # noqa: E731
    assert sim.thumbprint_sha256 == colon(hashlib.sha256(der).digest())
    assert sim.thumbprint_sha1 == colon(hashlib.sha1(der).digest())


def test_fault_vms_cover_every_fault_in_both_modes(sim: SimServer) -> None:
    for fault in (
        "TaskInProgress",
        "InvalidPowerState",
        "InvalidState",
        "InvalidGuestLogin",
        "GuestPermissionDenied",
        "CustomizationFault",
    ):
        assert sim.fault_vms[f"{fault}:sync"], fault
        assert sim.fault_vms[f"{fault}:task"], fault
    assert len(sim.ok_vms) >= 10
    assert 30 <= len(sim.vm_names()) <= 60
