"""Text drawing without Textual: the app's chart maths and colour maps (`charts`), the
commands' line plots (`plot`), and dataset samples as character grids (`grids`)."""
