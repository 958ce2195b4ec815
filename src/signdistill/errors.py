"""Bad input a user can fix: the message names the file and the problem, and is all they need to see.

``signdistill`` commands and ``kedro run`` (``signdistill.cli``) answer these with that one message; the full
traceback is for ``--verbose`` and the log file. Both subclass the built-in errors that callers catch.
"""


class InputError(ValueError):
    """Input that exists but cannot be used (no known layout, every sample rejected, ...)."""


class MissingInputError(InputError, FileNotFoundError):
    """Input that is not where the configuration says."""
