"""The user-facing error type: bad input from the person running fagui.

WHY its own type: `fagui` used to turn every ValueError into "error: …" and exit code 2, so
a bug inside the product looked like a mistake of the user's. Now code raises `UsageError`
where the input is bad (a flag, a collection name, a setting, a file the user named), the
command line prints its message and exits 2, and any other exception is reported as an
internal error with its traceback (exit 1).

It subclasses ValueError so callers that already catch ValueError for bad input (the app's
handlers, tests) keep working. It lives in `corpus`, the lowest layer, because every layer
checks input.
"""
from __future__ import annotations


class UsageError(ValueError):
    """Bad input: the message names the flag, setting, name or file and what is wrong."""
