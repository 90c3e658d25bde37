"""tuidl: a deep-learning lab that lives in the terminal."""

__version__ = "0.1.0"
