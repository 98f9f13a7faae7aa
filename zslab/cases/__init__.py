"""The vertical-industry case library."""
