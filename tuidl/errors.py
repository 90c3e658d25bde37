"""The error type for bad input: a config, file or shape a person can fix."""


class ConfigError(ValueError):
    """One line naming the problem and the fix; the CLI prints it and exits with status 2."""
