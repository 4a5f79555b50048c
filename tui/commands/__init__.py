"""The headless ``guestnet`` commands, one module per command (``tui.cli`` assembles the parser).

A command module has ``add_parser(sub, common)`` — it adds its subparser and sets
``handler=run`` as a default — and ``run(ns) -> int`` (an exit code from ``base``). Modules
import only the standard library and this package at the top: heavy modules (httpx, YAML, the
client) are imported inside the functions that need them, so ``guestnet --help`` stays fast.

Shared pieces: ``base`` (exit codes, ``UsageError``), ``output`` (tables, JSON values),
``terminal`` (prompts on /dev/tty), ``session`` (profile choice and a client session),
``selection`` (VM name/path globs), ``auditing`` (writing the audit log).
"""
