"""The one exception a user should ever see.

Everything a user can get wrong (a missing file, a bad flag, a model of the wrong kind) is raised as a
`UserError` whose message is one line naming the file or flag at fault. The CLI prints it and exits with
code 2; anything else is a bug in keras-ae and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input, explained in one line."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
