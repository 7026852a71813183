"""The errors a user can fix: the command line prints them without a traceback."""


class PipelineError(Exception):
    """A problem with the input or the order of commands, with a message that says the fix."""


class DataValidationError(PipelineError):
    """The data cannot be used as it is: the message names the column and what to do."""


class MissingArtifactError(PipelineError):
    """A stage needs the output of an earlier stage that has not been run yet."""


class UntrustedModelError(PipelineError):
    """A model file holds types that are not on the allow-list, so it is not loaded."""
