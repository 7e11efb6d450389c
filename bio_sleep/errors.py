"""The one exception type users see: it names the problem and the fix."""


class BioSleepError(ValueError):
    """Bad input or configuration, reported before any long computation starts."""
