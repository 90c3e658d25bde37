"""Dataset generators and loaders (installed as tuidl.datasets)."""
