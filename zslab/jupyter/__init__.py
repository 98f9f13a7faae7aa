"""Jupyter integration: the IPython extension (``%load_ext zslab``) and, later, the server
extension behind the lab extension."""
