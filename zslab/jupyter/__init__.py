"""Jupyter integration: the IPython extension (``%load_ext zslab``: :mod:`.magics`,
:mod:`.widgets`) and the server extension behind the lab extension (:mod:`.serverext`, whose
answers are the models of :mod:`.models`; :mod:`.openapi` writes the document the lab's
TypeScript types are generated from)."""
