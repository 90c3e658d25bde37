"""One widget per module; the drawing maths they share lives in `tuidl.ui.charts`."""
