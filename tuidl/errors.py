"""The error type for bad input, and how text from a file is made safe to print."""


class ConfigError(ValueError):
    """One line naming the problem and the fix; the CLI prints it and exits with status 2."""


class Interrupted(Exception):
    """Ctrl-C stopped a command; the message says what was kept. The CLI prints it in one line
    and exits with status 130."""


def printable(text: str) -> str:
    """`text` with every character that is not printable (newlines, escape sequences, bidi
    controls) written as Python escapes it (`\\x1b`), so a message stays one line and a name
    from a file cannot drive the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
