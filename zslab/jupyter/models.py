"""What the Jupyter server extension's own routes send and accept (``/zslab/config``,
``/zslab/templates…``), as pydantic models.

The handlers in :mod:`zslab.jupyter.serverext` build their answers from these models, and the
lab extension's TypeScript types are generated from their JSON schemas (with the hub's, by
:mod:`zslab.jupyter.openapi`), so the server and the front read one description. The hub's own
API (``/zslab/api/…``, forwarded unchanged) is described by :mod:`zslab.schemas`; these models
are kept apart because the hub never serves them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from zslab.schemas import Role, Scope

__all__ = [
    "REQUEST_MODELS",
    "RESPONSE_MODELS",
    "LabConfig",
    "LabUser",
    "TemplateNotebookCreate",
    "TemplateNotebookCreated",
    "TemplateParameterRead",
    "TemplateRead",
    "TemplateRunCreate",
    "TemplateRunStarted",
]

# A parameter's type as the template registry infers it from the default; "None": anything.
ParameterType = Literal["int", "float", "bool", "str", "list", "dict", "None"]


class _Answer(BaseModel):
    # Every field is always sent, defaults included: the schema says so (`required`).
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class _Body(BaseModel):
    # The lab sends these; fields a newer lab adds are ignored rather than refused.
    model_config = ConfigDict(extra="ignore")


class LabUser(_Answer):
    """The hub user this Jupyter server acts as."""

    name: str
    display_name: str
    role: Role


class LabConfig(_Answer):
    """``GET /zslab/config``: where the hub is and who this server acts as there."""

    hub_url: str
    gallery_url: str
    user: LabUser
    scopes: list[Scope]
    source: str = Field(
        description='How the hub was found: "argument" (c.Zslab.hub_url), "env" or "runtime file".'
    )
    started_hub: bool = Field(description="This server started the embedded hub.")
    heartbeat_s: float = Field(description="How often a live lease should be heartbeaten.")


class TemplateParameterRead(_Answer):
    """One line of a template's ``parameters`` cell: ``name = default  # help``."""

    name: str
    type: ParameterType
    default: Any
    help: str = ""


class TemplateRead(_Answer):
    """``GET /zslab/templates`` lists these: a template notebook this server can run."""

    name: str
    path: str
    title: str
    description: str
    parameters: list[TemplateParameterRead]
    sha256: str


class TemplateRunCreate(_Body):
    """``POST /zslab/templates/{name}/run``: run with these parameters, on a lease or not."""

    parameters: dict[str, Any] | None = None
    lease_id: str | None = None


class TemplateRunStarted(_Answer):
    """The answer to :class:`TemplateRunCreate` (202): the hub's run, which then executes."""

    run_id: str
    template: str
    parameters: dict[str, Any]


class TemplateNotebookCreate(_Body):
    """``POST /zslab/templates/{name}/notebook``: save a parameterized copy at ``path``
    (default ``<name>.ipynb``)."""

    parameters: dict[str, Any] | None = None
    path: str | None = None


class TemplateNotebookCreated(_Answer):
    """The answer to :class:`TemplateNotebookCreate` (201): where the notebook was saved."""

    path: str
    template: str
    parameters: dict[str, Any]


RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    LabConfig,
    TemplateRead,
    TemplateRunStarted,
    TemplateNotebookCreated,
)
REQUEST_MODELS: tuple[type[BaseModel], ...] = (TemplateRunCreate, TemplateNotebookCreate)
