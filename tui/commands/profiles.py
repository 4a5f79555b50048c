"""``guestnet profiles`` (list), ``profiles check NAME`` and ``profiles trust NAME``."""

from __future__ import annotations

import argparse
import os
from typing import Any

from tui.commands.base import EXIT_FAILED, EXIT_OK, PROG, Parser, err, fail
from tui.commands.output import dash, table
from tui.commands.session import (
    load_set,
    no_profiles,
    pick_one,
    run_client,
    vc_password,
    where,
    with_client,
)
from tui.commands.terminal import confirm, have_tty


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "profiles",
        parents=[common],
        help="list profiles and groups; 'profiles check NAME', 'profiles trust NAME'",
        description="List the configured vCenter profiles (never a secret) and profile groups.",
    )
    p.add_argument("--json", action="store_true", help="JSON array instead of a table")
    p.set_defaults(handler=run)
    psub = p.add_subparsers(dest="profiles_command", metavar="ACTION", parser_class=Parser)
    pc = psub.add_parser(
        "check",
        parents=[common],
        help="connect and show server, release, TLS mode and thumbprint",
        description="Connect with the profile, log in, and print the server product and version, "
        "the negotiated API release, the TLS verification mode and the presented SHA-256 "
        "thumbprint.",
    )
    pc.add_argument("name", metavar="NAME")
    pc.add_argument("--json", action="store_true", help="one JSON object instead of text")
    pc.set_defaults(handler=run_check)
    pt = psub.add_parser(
        "trust",
        parents=[common],
        help="show the presented thumbprint and pin it into the profile",
        description="Fetch the certificate thumbprint the vCenter presents and, after "
        "confirmation, write it as 'thumbprint:' into the profile.",
    )
    pt.add_argument("name", metavar="NAME")
    pt.add_argument("--yes", action="store_true", help="pin without asking")
    pt.set_defaults(handler=run_trust)


def run(ns: argparse.Namespace) -> int:
    import json

    found = load_set(ns)
    profiles, groups = found.profiles, found.groups
    if ns.json:
        objs = [p.summary() for p in profiles.values()]
        objs += [{"kind": "group", **g.summary()} for g in groups.values()]
        print(json.dumps(objs, indent=2))
        return EXIT_OK
    if not profiles:
        err(no_profiles())
        return EXIT_OK
    rows = []
    for p in profiles.values():
        notes = "read-only" if p.read_only else ""
        source = p.password_source.describe()
        rows.append([p.name, where(p), p.username, p.tls_mode, source, p.origin, notes])
    print(table(["NAME", "HOST", "USER", "TLS", "PASSWORD", "SOURCE", "NOTES"], rows))
    if groups:
        rows = [[g.name, ", ".join(g.profiles), g.origin] for g in groups.values()]
        print()
        print(table(["GROUP", "PROFILES", "SOURCE"], rows))
    return EXIT_OK


def run_check(ns: argparse.Namespace) -> int:
    import json

    profile = pick_one(ns, ns.name, "profiles check")

    async def check(client: Any) -> dict[str, Any]:
        about = client.about
        return {
            "profile": profile.name,
            "host": client.host,
            "port": client.port,
            "product": about.full_name,
            "name": about.name,
            "version": about.version,
            "build": about.build,
            "api_version": about.api_version,
            "release": client.release,
            "tls_mode": client.tls_mode,
            "thumbprint_sha256": client.thumbprint_sha256,
            "username": client.username,
        }

    info = with_client(profile, vc_password(profile), check)
    if ns.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    rows = [
        ["profile", f"{profile.name} ({profile.origin})"],
        ["server", f"{info['product']}"],
        ["version", f"{info['version']} build {info['build']} (API {info['api_version']})"],
        ["release", f"{info['release']} ({'pinned' if profile.release else 'negotiated'})"],
        ["tls", str(info["tls_mode"])],
        ["sha256", dash(info["thumbprint_sha256"])],
        ["user", str(info["username"])],
    ]
    print(table(["", ""], rows).split("\n", 1)[1])
    return EXIT_OK


def run_trust(ns: argparse.Namespace) -> int:
    from tui.config.profiles import pin_thumbprint
    from tui.vsphere import fetch_thumbprint

    profile = pick_one(ns, ns.name, "profiles trust")
    prints = run_client(profile, lambda: fetch_thumbprint(profile.host, profile.port))
    print(f"{where(profile)} presents a certificate with")
    print(f"  SHA-256 {prints.sha256}")
    print(f"  SHA-1   {prints.sha1}")
    if profile.tls.thumbprint in (prints.sha256, prints.sha1):
        print(f"profile {profile.name!r} already pins this thumbprint")
        return EXIT_OK
    target = (
        str(profile.source)
        if profile.source is not None
        else os.environ.get("GOVC_TLS_KNOWN_HOSTS") or "GOVC_TLS_KNOWN_HOSTS"
    )
    if not ns.yes:
        if not have_tty():
            fail(
                "no terminal to confirm on: compare the thumbprint with the vCenter's "
                f"(e.g. govc about.cert -k -thumbprint), then run: {PROG} profiles trust "
                f"{profile.name} --yes"
            )
        if not confirm(f"Pin this SHA-256 into profile {profile.name!r} ({target})?"):
            err("not pinned")
            return EXIT_FAILED
    pin_thumbprint(profile, prints.sha256)
    print(f"pinned SHA-256 {prints.sha256} into profile {profile.name!r} ({target})")
    return EXIT_OK
