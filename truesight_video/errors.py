"""The one exception type the library raises for bad input; the CLI maps it to a one-line error."""


class TruesightError(Exception):
    """A user-facing error whose message names the bad value."""


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (or its type name), for one-line errors."""
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
