"""GraphQL types shared by the static and generated parts of the schema."""

from __future__ import annotations

import enum
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info


@strawberry.enum(description="Direction of a relationship seen from a twin.")
class Direction(enum.Enum):
    outgoing = "outgoing"
    incoming = "incoming"
    both = "both"


@strawberry.type(description="A relationship between two twins; fedBy is the incoming side of feedsTo.")
class Relationship:
    id: strawberry.ID
    name: str
    source_id: strawberry.ID
    target_id: strawberry.ID
    properties: JSON

    @strawberry.field(description="The twin at the other end, seen from the source.")
    async def target(self, info: Info) -> Twin | None:
        return await info.context.loaders.twin(str(self.target_id))

    @strawberry.field(description="The source twin.")
    async def source(self, info: Info) -> Twin | None:
        return await info.context.loaders.twin(str(self.source_id))


@strawberry.interface(description="Relay's object identification: an object with a globally unique id, "
                                  "fetched again by node(id). Twins are nodes: a twin's id is unique across models.")
class Node:
    id: strawberry.ID

    @classmethod
    def resolve_type(cls, obj: Any, info: Any, abstract_type: Any) -> str:
        return str(obj.__strawberry_definition__.name)


@strawberry.interface(description="A digital twin: a node of the twin graph, typed by its DTDL interface.")
class Twin(Node):
    id: strawberry.ID
    model: str = strawberry.field(description="DTMI of the twin's DTDL interface.")
    etag: str = strawberry.field(description="Changes with every write; pass it as ifMatch to update safely.")
    properties: JSON = strawberry.field(description="All properties as DTDL JSON values.")

    @strawberry.field(description="Relationships of this twin, optionally one name and one direction.")
    async def relationships(self, info: Info, name: str | None = None,
                            direction: Direction = Direction.outgoing) -> list[Relationship]:
        return await info.context.loaders.relationships(str(self.id), name, direction.value)

    @classmethod
    def resolve_type(cls, obj: Any, info: Any, abstract_type: Any) -> str:
        """The object type of a twin (inherited by every generated interface): twins are always
        instances of a generated object type or GenericTwin, so no cast lookup or isinstance chain."""
        return Node.resolve_type(obj, info, abstract_type)


@strawberry.type(description="A twin whose model is not (or no longer) in the active model set.")
class GenericTwin(Twin):
    pass


def twin_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The Twin interface's fields of a twin record from the graph layer."""
    return {"id": record["id"], "model": record["model"], "etag": record["etag"],
            "properties": record.get("properties", {})}
