"""The servers are the real Neo4j 5.26 Community, InfluxDB 2.7 and Redis 7, reached with the real drivers."""

from __future__ import annotations

import time
import uuid

import neo4j
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from gridtwin.config import Settings


def test_neo4j_is_5_26_community(neo4j_driver: neo4j.Driver) -> None:
    records, _, _ = neo4j_driver.execute_query("CALL dbms.components() YIELD name, versions, edition")
    component = records[0]
    assert component["name"] == "Neo4j Kernel"
    assert component["versions"][0].startswith("5.26.")
    assert component["edition"] == "community"


def test_neo4j_writes_and_reads_a_node(neo4j_driver: neo4j.Driver) -> None:
    marker = f"probe-{uuid.uuid4()}"
    neo4j_driver.execute_query("CREATE (:ServerProbe {marker: $marker, written: 42})", marker=marker)
    try:
        records, _, _ = neo4j_driver.execute_query(
            "MATCH (p:ServerProbe {marker: $marker}) RETURN p.written AS written", marker=marker
        )
        assert [record["written"] for record in records] == [42]
    finally:
        neo4j_driver.execute_query("MATCH (p:ServerProbe {marker: $marker}) DELETE p", marker=marker)


def test_influxdb_is_2_7(influx_client: InfluxDBClient) -> None:
    assert influx_client.ping()
    assert influx_client.version().startswith("2.7.")


def test_influxdb_writes_points_and_flux_reads_them_back(influx_client: InfluxDBClient, settings: Settings) -> None:
    probe = f"probe-{uuid.uuid4()}"
    now_ns = time.time_ns()
    points = [
        Point("server_probe").tag("probe", probe).field("value", float(index)).time(now_ns - index * 1_000_000_000,
                                                                                 WritePrecision.NS)
        for index in range(5)
    ]
    influx_client.write_api(write_options=SYNCHRONOUS).write(bucket=settings.influxdb_bucket, record=points)
    tables = influx_client.query_api().query(
        'from(bucket: bucket) |> range(start: -1h) '
        '|> filter(fn: (r) => r._measurement == "server_probe" and r.probe == probe)',
        params={"bucket": settings.influxdb_bucket, "probe": probe},
    )
    values = sorted(record.get_value() for table in tables for record in table.records)
    assert values == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_redis_is_7_answers_only_with_its_password_and_keeps_an_append_only_file(settings: Settings) -> None:
    import redis

    record = settings.runtime()["redis"]
    with redis.Redis.from_url(settings.resolved_redis()) as client:
        info = client.info()
        assert info["redis_version"].startswith("7.") and info["tcp_port"] == record["port"]
        assert client.config_get("save")["save"] == "" and client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("appendfsync")["appendfsync"] == "everysec"
        assert client.config_get("bind")["bind"] == "127.0.0.1"
    with redis.Redis(host="127.0.0.1", port=record["port"]) as anonymous:
        try:
            anonymous.ping()
        except redis.AuthenticationError:
            pass
        else:
            raise AssertionError("Redis answered without the password")
