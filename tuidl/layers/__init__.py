"""Layers by TOML type name (filled in as the layer modules land)."""
