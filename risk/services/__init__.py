"""Writes of the risk app (services write, selectors read)."""
