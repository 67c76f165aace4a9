"""The one exception type the library raises for bad input; the CLI maps it to a one-line error."""


class TruesightError(Exception):
    """A user-facing error whose message names the bad value."""
