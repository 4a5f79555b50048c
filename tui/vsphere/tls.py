"""TLS trust for the vCenter connection: system CAs, a CA file, a pinned thumbprint, or insecure.

How a pinned thumbprint is enforced *before* any request is sent: the ``ssl.SSLContext`` we hand
to httpx gets its own ``sslobject_class`` (a documented hook of the standard library: the class
``SSLContext.wrap_bio`` instantiates). Its ``do_handshake`` lets OpenSSL finish the handshake and
then compares the digest of the peer's DER certificate with the pin; on a mismatch it raises
``ssl.SSLCertVerificationError`` from inside the handshake, so the connection never carries a byte
of HTTP. httpcore's asyncio/anyio backends (and asyncio's own SSL protocol) all create their TLS
objects through ``wrap_bio``, so this runs on every new connection of the pool. The same hook
records the presented certificate's thumbprints in every mode (``Client.thumbprint_sha256``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import ssl
from dataclasses import dataclass

from tui.vsphere.errors import ConnectError, RequestTimeout, SpecError, TLSVerifyError
from tui.vsphere.models import Thumbprints, TLSSpec

TLSMode = str  # "system-ca" | "ca-file" | "pinned" | "insecure"

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_ALGO_OF_BYTES = {32: "sha256", 20: "sha1"}


def colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02X}" for b in digest)


def thumbprints_of(der: bytes) -> Thumbprints:
    return Thumbprints(
        sha256=colon_hex(hashlib.sha256(der).digest()),
        sha1=colon_hex(hashlib.sha1(der).digest()),
    )


def normalize_thumbprint(value: str) -> str | None:
    """guestnet's one thumbprint rule (profiles, known_hosts entries, pins, ``TLSSpec``).

    Accepted, as govc writes and reads them: a SHA-256 (32 bytes) or SHA-1 (20 bytes) digest as
    colon-separated pairs of hex digits, upper or lower case, with surrounding whitespace
    ignored, e.g. ``ab:CD:01:…``. Returned: the same digest in upper case colon hex. Anything else
    — hex without colons, other separators, whitespace inside, a pair of one or three digits,
    another number of bytes — gives None.
    """
    parts = value.strip().split(":")
    if len(parts) not in _ALGO_OF_BYTES:
        return None
    if not all(len(p) == 2 and p[0] in _HEX_DIGITS and p[1] in _HEX_DIGITS for p in parts):
        return None
    return ":".join(parts).upper()


def thumbprint_pin(value: str) -> tuple[str, str]:
    """A thumbprint to pin → ``("sha256" | "sha1", "AA:BB:…")``; SpecError when it is not one
    (see ``normalize_thumbprint`` for what is accepted)."""
    normalized = normalize_thumbprint(value)
    if normalized is None:
        shown = value if len(value) <= 110 else value[:107] + "..."
        raise SpecError(
            f"invalid thumbprint {shown!r}: expected a SHA-256 (32 bytes) or SHA-1 (20 bytes) "
            "digest in colon hex, e.g. AB:CD:…"
        )
    return _ALGO_OF_BYTES[normalized.count(":") + 1], normalized


class PinMismatch(ssl.SSLCertVerificationError):
    """Raised from the TLS handshake when the presented certificate is not the pinned one."""

    def __init__(self, presented: Thumbprints, algo: str) -> None:
        self.presented = presented
        self.algo = algo
        super().__init__(1, "certificate thumbprint does not match the pinned thumbprint")


@dataclass(slots=True)
class CertRecorder:
    """Checks (when pinned) and remembers the certificate presented on the latest handshake."""

    pin: tuple[str, str] | None = None
    presented: Thumbprints | None = None
    handshakes: int = 0  # how many TLS handshakes went through the check

    def check(self, der: bytes | None) -> None:
        self.handshakes += 1
        if der is None:
            raise ssl.SSLCertVerificationError(1, "server presented no certificate")
        tp = thumbprints_of(der)
        self.presented = tp
        if self.pin is not None:
            algo, want = self.pin
            got = tp.sha256 if algo == "sha256" else tp.sha1
            if got != want:
                raise PinMismatch(tp, algo)


def _sslobject_class(recorder: CertRecorder) -> type[ssl.SSLObject]:
    class _CheckedSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()
            recorder.check(self.getpeercert(binary_form=True))

    return _CheckedSSLObject


def build_context(tls: TLSSpec) -> tuple[ssl.SSLContext, TLSMode, CertRecorder]:
    """The SSLContext for ``tls`` plus its mode name and the recorder of presented certificates."""
    recorder = CertRecorder()
    if tls.thumbprint:
        recorder.pin = thumbprint_pin(tls.thumbprint)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # trust is the digest check in the handshake hook
        mode = "pinned"
    elif tls.insecure:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        mode = "insecure"
    elif tls.ca_file:
        path = os.path.expanduser(tls.ca_file)
        if not os.path.isfile(path):
            raise SpecError(f"CA file not found: {tls.ca_file}")
        try:
            ctx = ssl.create_default_context(cafile=path)
        except (ssl.SSLError, OSError, ValueError) as e:
            raise SpecError(f"CA file {tls.ca_file} is not a readable PEM bundle ({e})") from None
        mode = "ca-file"
    else:
        ctx = ssl.create_default_context()
        mode = "system-ca"
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.sslobject_class = _sslobject_class(recorder)
    return ctx, mode, recorder


def pin_hint(host: str, port: int, presented: str | None) -> str:
    if not presented:
        return ""
    where = host if port == 443 else f"{host}:{port}"
    return (
        f"; {where} presents SHA-256 {presented} — if you trust it, "
        f"pin it with thumbprint: {presented}"
    )


def find_ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The ssl.SSLError somewhere in an exception's cause/context chain."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLError):
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


async def fetch_thumbprint(
    host: str,
    port: int = 443,
    timeout: float = 10.0,  # noqa: ASYNC109 - a plain connect deadline is the natural API here
) -> Thumbprints:
    """Connect without verification and return the presented certificate's thumbprints.

    Sends nothing but a TLS ClientHello; meant for a "trust on first use" prompt.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    recorder = CertRecorder()
    ctx.sslobject_class = _sslobject_class(recorder)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname=host)
    except TimeoutError:
        raise RequestTimeout(
            f"{host}:{port} did not complete a TLS handshake within {timeout:g} s"
        ) from None
    except ssl.SSLError as e:
        raise TLSVerifyError(f"TLS handshake with {host}:{port} failed: {e.reason or e}") from None
    except socket.gaierror as e:
        raise ConnectError(f"cannot resolve {host}: {e.strerror}") from None
    except OSError as e:
        raise ConnectError(f"cannot connect to {host}:{port}: {e.strerror or e}") from None
    finally:
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except (OSError, ssl.SSLError):
                pass
    if recorder.presented is None:  # pragma: no cover - the hook always records or raises
        raise TLSVerifyError(f"{host}:{port} presented no certificate")
    return recorder.presented
