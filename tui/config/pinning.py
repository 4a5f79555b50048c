"""Pinning a certificate thumbprint: into the profile's file (comments and key order kept), or
for ``govc-env`` into ``$GOVC_TLS_KNOWN_HOSTS``."""

from __future__ import annotations

import dataclasses
import io
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tui.config.files import write_atomic
from tui.config.profile_model import DEFAULT_PORT, Profile
from tui.config.yaml_doc import parse_yaml, read_text
from tui.vsphere.models import TLSSpec
from tui.vsphere.tls import normalize_thumbprint


def _yaml_rt() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    return yaml


def _write_atomic(path: Path, text: str) -> None:
    """Rewrite ``path`` keeping its file mode (0600 for a new file)."""
    write_atomic(path, text, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o600)


def _pin_known_hosts(profile: Profile, thumbprint: str, env: Mapping[str, str]) -> Profile:
    kh = env.get("GOVC_TLS_KNOWN_HOSTS", "").strip()
    if not kh:
        raise profile.error(
            "nothing to write the thumbprint to: set GOVC_TLS_KNOWN_HOSTS to a file "
            "(as govc does) and run this again"
        )
    path = Path(os.path.expanduser(kh))
    entry = profile.host if profile.port == DEFAULT_PORT else f"{profile.host}:{profile.port}"
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    except OSError as exc:
        raise profile.error(f"cannot read {path}: {exc.strerror}") from None
    kept = [ln for ln in lines if not (ln.split() and ln.split()[0] == entry)]
    kept.append(f"{entry} {thumbprint}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, "\n".join(kept) + "\n")
    except OSError as exc:
        raise profile.error(f"cannot write {path}: {exc.strerror}") from None
    tls = TLSSpec(ca_file=profile.tls.ca_file, thumbprint=thumbprint)
    return dataclasses.replace(profile, tls=tls)


def pin_thumbprint(profile: Profile, sha256: str, env: Mapping[str, str] | None = None) -> Profile:
    """Write ``thumbprint: SHA256`` into the profile's file (comments and order kept) and drop
    ``insecure`` (set it false when it is shared through an anchor). For ``govc-env`` the entry
    goes to ``$GOVC_TLS_KNOWN_HOSTS``. Returns the updated profile."""
    thumbprint = normalize_thumbprint(sha256)
    if thumbprint is None:
        raise profile.error(f"not a SHA-256/SHA-1 colon-hex thumbprint: {sha256!r}")
    if profile.source is None:
        return _pin_known_hosts(profile, thumbprint, os.environ if env is None else env)
    from ruamel.yaml.comments import CommentedMap

    path = profile.source
    text = read_text(path)
    yaml = _yaml_rt()
    data = parse_yaml(path, text, yaml)
    try:
        node = data["profiles"][profile.name]
    except (KeyError, TypeError):
        node = None
    if not isinstance(node, CommentedMap):
        raise profile.error("the profile is no longer in the file; reload and try again")
    if "thumbprint" in node:
        node["thumbprint"] = thumbprint
    else:
        keys = list(node.keys())
        anchor = "port" if "port" in keys else "host"
        pos = keys.index(anchor) + 1 if anchor in keys else len(keys)
        node.insert(pos, "thumbprint", thumbprint)
    if any(key == "insecure" for key, _ in node.non_merged_items()):
        del node["insecure"]
    if node.get("insecure"):  # still true through a merge key (<<: *common): override it
        node["insecure"] = False
    buf = io.StringIO()
    yaml.dump(data, buf)
    try:
        _write_atomic(path, buf.getvalue())
    except OSError as exc:
        raise profile.error(f"cannot write {path}: {exc.strerror}") from None
    return dataclasses.replace(
        profile, tls=TLSSpec(ca_file=profile.tls.ca_file, thumbprint=thumbprint, insecure=False)
    )
