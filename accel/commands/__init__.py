"""Subcommands of the accel command line; each module defines register(subparsers)."""
