"""`tuidl data show` on a terminal, in process: half blocks in colour, plain shades without."""

import io

import pytest

from tuidl.cli import build_parser
from tuidl.commands.data import run_show


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("no_color", [False, True])
def test_show_on_a_terminal_uses_half_blocks_unless_no_color(tmp_path, monkeypatch, no_color):
    monkeypatch.delenv("NO_COLOR", raising=False)
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLORTERM", "truecolor")
    args = build_parser().parse_args(["data", "show", "digits", "-n", "2"])
    stream = Terminal()
    assert run_show(args, stream) == 0
    out = stream.getvalue()
    if no_color:
        assert "▀" not in out and "\x1b[" not in out and "@" in out
    else:
        assert "▀" in out and "\x1b[38;2;" in out and "48;2;" in out  # fg top, bg bottom
