"""Shipped guestnet themes (YAML), installed as the ``tui.themes`` package."""
