"""The one exception the core raises; the CLI turns it into one stderr line and an exit code."""


class NnexamError(Exception):
    """A user-facing error: `message` is one line naming the file, key or row; `exit_code` for the CLI."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
