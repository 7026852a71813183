"""The errors a user can fix: the command line prints them without a traceback and exits 2."""


class UserError(Exception):
    """A problem with the input, a setting or the order of commands; the message says the fix."""


class InvalidSettingError(UserError):
    """A setting from the environment or `.env` has a value it cannot take."""


class DataValidationError(UserError):
    """The data cannot be used as it is: the message names the column and what to do."""


class MissingArtifactError(UserError):
    """A stage needs the output of an earlier stage that has not been run yet."""


class UntrustedModelError(UserError):
    """A model file holds types that are not on the allow-list, so it is not loaded."""
