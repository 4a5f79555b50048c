"""The headless ``guestnet`` commands, one module per command (``tui.cli`` assembles the parser).

A command module has ``add_parser(sub, common)`` — it adds its subparser and sets
``handler=run`` as a default — and ``run(ns) -> int`` (an exit code from ``base``). Modules
import only the standard library and this package at the top: heavy modules (httpx, YAML, the
client) are imported inside the functions that need them, so ``guestnet --help`` stays fast.

Shared pieces: ``base`` (exit codes, ``UsageError``), ``output`` (tables, JSON values),
``terminal`` (prompts on /dev/tty), ``session`` (profile choice and a client session),
``targets`` (several vCenters: a ``Site`` and a session each, in one loop), ``selection`` (VM
name/path globs), ``auditing`` (writing the audit log). ``start-network`` is ``start_network``
(options, credentials), ``start_batch`` (the run over its vCenters), ``start_leg`` (one
vCenter's part), ``start_tasks``, ``start_results``, ``start_verify`` and ``progress``.
"""
