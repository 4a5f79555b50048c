"""Screens and modals of the guestnet TUI."""
