"""The OpenAPI document the lab extension's TypeScript types are generated from.

It is the hub's own document (``create_app().openapi()``, what ``/api/v1/openapi.json``
serves; the lab reaches those routes through ``/zslab/api/…``) with the schemas of the server
extension's own routes (:mod:`zslab.jupyter.models`) added under ``components.schemas``, so
one ``openapi-typescript`` run types everything the lab calls. The hub is built without being
started (no broker, no server) over a throw-away home; keys are sorted, so the file changes
only when a schema does::

    python -m zslab.jupyter.openapi lab_ext/openapi.json   # what `make types` runs

``tests/jupyter/test_lab_types.py`` fails when the committed file (or the TypeScript
generated from it) is stale.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from zslab.jupyter.models import REQUEST_MODELS, RESPONSE_MODELS

__all__ = ["dump_document", "lab_document", "main"]

_REF = "#/components/schemas/{model}"


def hub_document() -> dict[str, Any]:
    """The hub's OpenAPI document, from an app that is built but never started."""
    from zslab.config import Settings
    from zslab.hub.app import create_app, open_database

    with tempfile.TemporaryDirectory(prefix="zslab-openapi-") as home:
        # Explicit arguments win over ZSLAB_* variables: the document never depends on them.
        settings = Settings(home=Path(home), db_url=None, artifacts_url=None)
        db = open_database(settings)  # the app wants one; the document never reads it
        try:
            document: dict[str, Any] = create_app(settings, db=db).openapi()
        finally:
            db.dispose()
    return document


def lab_document() -> dict[str, Any]:
    """The hub's document plus the server extension's schemas (answers as serialized,
    bodies as validated)."""
    document = hub_document()
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    pairs = [(model, "serialization") for model in RESPONSE_MODELS]
    pairs += [(model, "validation") for model in REQUEST_MODELS]
    _, definitions = models_json_schema(pairs, ref_template=_REF)  # type: ignore[arg-type]
    for name, schema in definitions.get("$defs", {}).items():
        if schemas.get(name, schema) != schema:
            raise ValueError(
                f"The server extension's schema {name!r} differs from the hub's of that name; "
                "rename the model in zslab/jupyter/models.py."
            )
        schemas[name] = schema
    return document


def dump_document(document: dict[str, Any]) -> str:
    """``document`` as stable JSON text: sorted keys, two-space indent, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the lab's document to the path given (default ``lab_ext/openapi.json``)."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0] if args else "lab_ext/openapi.json")
    target.write_text(dump_document(lab_document()), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
