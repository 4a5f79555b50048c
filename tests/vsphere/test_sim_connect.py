"""Connect against the simulator over real HTTPS: release negotiation, login, TLS trust modes."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys

import pytest

from tests.vsphere.conftest import Wire, connect, spec_for
from tui.vsphere import (
    Client,
    ConnectError,
    TLSSpec,
    TLSVerifyError,
    VimFault,
    fetch_thumbprint,
)


async def test_hello_negotiates_newest_release_and_conforms(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=5)
    c = await connect(sim, wire)
    assert c.release == "9.0.0.0"
    assert c.about is not None and c.about.api_version == "9.0.0.0"
    assert c.tls_mode == "ca-file" and c.thumbprint_sha256 == sim.thumbprint_sha256
    assert c.username == sim.username and c.host == "127.0.0.1" and c.port == sim.port
    await c.close()
    assert wire.members()[:3] == ["system", "content", "Login"]
    assert wire.members()[-1] == "Logout"
    assert wire.check_conformance() >= 2  # Login, Logout
    st = sim.stats()
    assert st["logins"] == 1 and st["logouts"] == 1 and st["live"]["sessions"] == 0


async def test_without_hello_probes_down_to_801(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=3, hello=False)
    c = await connect(sim, wire)
    assert c.release == "8.0.1.0"
    contents = [p for _, p, _ in wire.requests if p.endswith("/content")]
    assert [p.split("/")[3] for p in contents] == ["9.0.0.0", "8.0.3.0", "8.0.2.0", "8.0.1.0"]
    await c.close()


async def test_pinned_release(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=3)
    c = await connect(sim, wire, release="8.0.2.0")
    assert c.release == "8.0.2.0" and "system" not in wire.members()
    assert all("/8.0.2.0/" in p for _, p, _ in wire.requests)
    await c.close()


async def test_login_failure_names_the_fault_never_the_password(sim_factory, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sim = sim_factory(vms=3)
    with pytest.raises(VimFault) as ei:
        await connect(sim, password="Wrong-Pa55word")
    assert ei.value.type_name == "InvalidLogin"
    assert str(ei.value).startswith("InvalidLogin: ")
    assert ei.value.request is not None and ei.value.request.endswith(
        "/SessionManager/SessionManager/Login"
    )
    assert "Wrong-Pa55word" not in str(ei.value) and "Wrong-Pa55word" not in repr(ei.value.fault)
    assert all("Wrong-Pa55word" not in r.getMessage() for r in caplog.records)
    assert sim.stats()["login_failures"] == 1


async def test_self_signed_refused_by_default_with_pin_hint(sim_factory) -> None:
    sim = sim_factory(vms=3)
    with pytest.raises(TLSVerifyError) as ei:
        await connect(sim, tls=TLSSpec())  # system CAs do not know the simulator's CA
    e = ei.value
    assert e.presented_sha256 == sim.thumbprint_sha256
    assert "is not trusted" in str(e) and f"pin it with thumbprint: {sim.thumbprint_sha256}" in str(
        e
    )
    assert sim.stats()["requests"] == {}  # refused before any request


@pytest.mark.parametrize("which", ["sha256", "sha1", "sha256-lower"])
async def test_pinned_thumbprint_accepts_self_signed(sim_factory, which: str) -> None:
    sim = sim_factory(vms=3)
    pin = {
        "sha256": sim.thumbprint_sha256,
        "sha1": sim.thumbprint_sha1,
        "sha256-lower": sim.thumbprint_sha256.lower(),
    }[which]
    c = await connect(sim, tls=TLSSpec(thumbprint=pin))
    assert c.tls_mode == "pinned" and c.thumbprint_sha256 == sim.thumbprint_sha256
    await c.close()


async def test_pin_mismatch_refused_before_any_request(sim_factory) -> None:
    sim = sim_factory(vms=3)
    wrong = ":".join(["AB"] * 32)
    with pytest.raises(TLSVerifyError) as ei:
        await connect(sim, tls=TLSSpec(thumbprint=wrong))
    e = ei.value
    assert e.presented_sha256 == sim.thumbprint_sha256
    assert "does not match the pinned SHA-256 thumbprint" in str(e)
    assert f"pin it with thumbprint: {sim.thumbprint_sha256}" in str(e)
    assert "\n" not in str(e)
    # neither hello, nor content, nor Login (which carries the password) reached the server
    assert sim.stats()["requests"] == {} and sim.stats()["logins"] == 0


async def test_insecure_only_when_set(sim_factory) -> None:
    sim = sim_factory(vms=3)
    c = await connect(sim, tls=TLSSpec(insecure=True))
    assert c.tls_mode == "insecure" and c.thumbprint_sha256 == sim.thumbprint_sha256
    await c.close()


async def test_fetch_thumbprint_for_trust_on_first_use(sim_factory) -> None:
    sim = sim_factory(vms=3)
    tp = await fetch_thumbprint("127.0.0.1", sim.port)
    assert tp.sha256 == sim.thumbprint_sha256 and tp.sha1 == sim.thumbprint_sha1
    assert sim.stats()["requests"] == {}


async def test_connection_refused_is_connect_error(sim_factory) -> None:
    sim = sim_factory(vms=3)
    port = sim.port
    spec = spec_for(sim, tls=TLSSpec(insecure=True))
    sim.stop()
    with pytest.raises(ConnectError, match=f"cannot connect to 127.0.0.1:{port}"):
        await Client.connect(spec, keepalive_interval=None)
    with pytest.raises(ConnectError):
        await fetch_thumbprint("127.0.0.1", port)


def test_no_textual_import() -> None:
    code = (
        "import sys, tui.vsphere, tui.vsphere.client, tui.vsphere.tasks, tui.vsphere.updates;"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


async def test_every_new_connection_is_checked_before_use(sim_factory) -> None:
    sim = sim_factory(vms=3, latency_ms=300)
    c = await connect(sim, tls=TLSSpec(thumbprint=sim.thumbprint_sha256))
    assert c.transport.cert.handshakes == 1  # hello, content and Login shared one connection
    before = sim.stats()["requests"].get("SessionManager.currentSession", 0)
    # From now on only a different certificate would be accepted: the pooled connection is
    # reused, every new one (needed for concurrent calls) must fail its handshake.
    c.transport.cert.pin = ("sha256", ":".join(["00"] * 32))
    results = await asyncio.gather(
        *[
            c.transport.get_property("SessionManager", "SessionManager", "currentSession")
            for _ in range(4)
        ],
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, TLSVerifyError)]
    served = [r for r in results if not isinstance(r, BaseException)]
    assert len(served) == 1 and len(refused) == 3
    assert c.transport.cert.handshakes == 4
    assert sim.stats()["requests"].get("SessionManager.currentSession", 0) - before == 1
    await c.close()
