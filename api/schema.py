"""The GraphQL schema."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.context import Services
from graph import db as graph_db
from timeseries import client as timeseries_client


@strawberry.type(description="Reachability of the servers behind the API.")
class Health:
    neo4j: bool
    influxdb: bool
    version: str


@strawberry.type
class Query:
    @strawberry.field(description="Whether Neo4j and InfluxDB answer, and the API version.")
    async def health(self, info: Info) -> Health:
        services: Services = info.context["services"]
        return Health(
            neo4j=await graph_db.is_reachable(services.neo4j),
            influxdb=await timeseries_client.is_reachable(services.influxdb_http),
            version=services.settings.version,
        )


schema = strawberry.Schema(query=Query)
