"""The one exception type for mistakes a user can fix.

Anything raised as `UserError` reaches the user as its message alone (one sentence that names the
fix), never as a traceback; every other exception is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem the user can fix: bad config, missing data or credentials, unreachable server."""
