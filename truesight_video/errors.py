"""The exceptions the library raises for bad input; the CLI maps them to a one-line error."""


class TruesightError(Exception):
    """A user-facing error whose message names the bad value."""


class ParameterError(TruesightError, ValueError):
    """A bad value of a named library parameter (e.g. 'batch_size'); the CLI names its flag instead."""

    def __init__(self, param: str, problem: str) -> None:
        self.param, self.problem = param, problem
        super().__init__(f"{param} {problem}")

    def __reduce__(self) -> tuple:
        # crosses process boundaries intact (a Ray task's error reaches the driver as itself)
        return type(self), (self.param, self.problem)


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (or its type name), for one-line errors."""
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
