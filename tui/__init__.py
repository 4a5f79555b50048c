"""guestnet: restart the guest network of vSphere instant clones, in bulk."""

__version__ = "0.1.0"
