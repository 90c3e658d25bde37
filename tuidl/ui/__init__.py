"""The interactive app (Textual). Only this package imports Textual; the engine never does.

Entry point: `make_app(...)` in `tuidl.ui.app`, shared by `tuidl` (cli.py) and the tests.
"""
