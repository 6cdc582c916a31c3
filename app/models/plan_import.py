"""The report of a plan document import (`POST /v1/plans/import`, `consulta import-plan`)."""

import uuid
from typing import Any

from pydantic import BaseModel
from pydantic import Field as PField


class NodeChanges(BaseModel):
    """What an import did to the nodes. `updated`: content changed; `moved`: parent or
    position changed (a node may be both); `archived`: left the plan; `restored`: came
    back after being archived; `unchanged`: none of these."""

    created: int = 0
    updated: int = 0
    moved: int = 0
    archived: int = 0
    restored: int = 0
    unchanged: int = 0


class ImportReport(BaseModel):
    plan_id: uuid.UUID
    organization_id: uuid.UUID
    created: bool = PField(description="The plan was created (201) rather than updated (200).")
    organization_created: bool
    changed: bool = PField(description="False when the document matched the plan already.")
    plan_fields: list[str] = PField(description="Plan fields that changed.")
    phases_changed: bool
    nodes: NodeChanges
    sections: dict[str, dict[str, Any]] = PField(
        default_factory=dict, description="Reports of further sections of the document."
    )
