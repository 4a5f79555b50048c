"""The simulator's options and the vCenter releases it serves."""

from __future__ import annotations

from dataclasses import dataclass, field

RELEASES = ("8.0.1.0", "8.0.2.0", "8.0.3.0", "9.0.0.0")
ABOUT_BY_RELEASE = {
    "8.0.1.0": ("8.0.1", "21560480"),
    "8.0.2.0": ("8.0.2", "22385739"),
    "8.0.3.0": ("8.0.3", "24022515"),
    "9.0.0.0": ("9.0.0", "24755230"),
}


@dataclass
class SimOptions:
    vc_user: str = "administrator@vsphere.local"
    vc_password: str = field(default="VMware1!", repr=False)
    # more vCenter accounts (user name -> password), e.g. a second user whose tasks are not ours
    extra_users: dict[str, str] = field(default_factory=dict, repr=False)
    guest_user: str = "root"
    guest_password: str = field(default="guest-secret", repr=False)
    task_seconds: float = 3.0
    max_running_tasks: int = 640
    session_timeout: float = 1800.0
    latency_ms: float = 0.0
    hello: bool = True
    releases: tuple[str, ...] | None = None  # None: all four (hello) or only 8.0.1.0 (no hello)
    record: bool = False
    recent_task_seconds: float = 600.0  # how long a finished task stays in recentTask

    def supported_releases(self) -> tuple[str, ...]:
        if self.releases is not None:
            return self.releases
        return RELEASES if self.hello else ("8.0.1.0",)
