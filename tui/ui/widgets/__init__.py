"""Widgets of the guestnet TUI, one module per widget."""
