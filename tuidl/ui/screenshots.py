"""Screenshots the app saves (`S`, the palette's "Screenshot"): a part of `TuidlApp`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..render.svg import pin_cells


class Screenshots:
    """Textual's `deliver_screenshot`, saving where the user is and drawing cells as the
    terminal does."""

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """Save an SVG of the screen in `path` (the current folder when None) and say where.

        `S`, `action_screenshot` and the command palette's "Screenshot" come here. Textual's
        own saves to ~/Downloads (failing where there is none), and its SVG lets braille and
        blocks spill out of their cells in a viewer without its font: `pin_cells` fixes them.

        Returns:
            The file's path, or None when it could not be written (the notification says why).
        """
        stamp = datetime.now().strftime(time_format or "%Y-%m-%d_%H-%M-%S_%f")
        target = Path(path or ".").expanduser().resolve() / (filename or f"tuidl_{stamp}.svg")
        try:
            target.write_text(pin_cells(self.export_screenshot()), encoding="utf-8")
        except OSError as error:
            self.notify(f"Screenshot not saved: {error}", title="Screenshot", severity="error")
            return None
        self.notify(f"Saved screenshot to {target}", title="Screenshot")
        return str(target)
