"""Version tables of the DTDL metamodel: classes, their properties and limits per version.

Written from the DTDL v2/v3/v4 language specifications.  The parser is driven by these tables,
so a rule that differs between versions is changed here, not in parser code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from .units import UNIT_TYPES, semantic_types

NAME_PATTERN = r"^[a-zA-Z](?:[a-zA-Z0-9_]*[a-zA-Z0-9])?$"
CONTENT_CLASSES = ("Command", "Component", "Property", "Relationship", "Telemetry")
COMPLEX_SCHEMAS = ("Array", "Enum", "Map", "Object")

PRIMITIVES_V2 = ("boolean", "date", "dateTime", "double", "duration", "float", "integer", "long",
                 "string", "time")
PRIMITIVES_V3 = PRIMITIVES_V2 + ("byte", "bytes", "decimal", "short", "unsignedByte", "unsignedInteger",
                                 "unsignedLong", "unsignedShort", "uuid")
PRIMITIVES_V4 = PRIMITIVES_V3 + ("scaledDecimal",)
GEOSPATIAL = ("point", "lineString", "polygon", "multiPoint", "multiLineString", "multiPolygon")
NUMERIC = frozenset({"double", "float", "integer", "long", "byte", "decimal", "short", "unsignedByte",
                     "unsignedInteger", "unsignedLong", "unsignedShort", "scaledDecimal"})

DTDL_CONTEXTS = {"dtmi:dtdl:context;2": 2, "dtmi:dtdl:context;3": 3, "dtmi:dtdl:context;4": 4}


@dataclass(frozen=True)
class PropDef:
    """One property of a class.

    kind: string | langstring | integer | boolean | identifier | object | enumvalue | choice
    """

    name: str
    kind: str
    required: bool = False
    max_count: int | None = 1
    min_count: int = 0
    max_length: int | None = None
    pattern: str | None = None
    classes: tuple[str, ...] = ()
    instances: tuple[str, ...] = ()
    allow_refs: bool = True
    id_required: bool = False
    min_value: int | None = None
    max_value: int | None = None
    exact_value: int | None = None
    choices: tuple[str, ...] = ()
    unique_names: bool = False


@dataclass(frozen=True)
class ClassDef:
    name: str
    props: dict[str, PropDef]
    rootable: bool = False
    id_required_top: bool = False


@dataclass(frozen=True)
class Extension:
    """A known extension context: cotype name -> (applicable material classes, extra props)."""

    context: str
    cotypes: dict[str, tuple[tuple[str, ...], dict[str, PropDef]]] = field(default_factory=dict)
    terms: frozenset[str] = frozenset()
    #: cotype -> ("type" | "value", allowed schemas): what the co-typed element's 'schema' must be
    #: (violations: notRequiredType / notRequiredValue)
    schema_rules: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    #: extra schema terms the extension defines (usable wherever a primitive schema is)
    schemas: tuple[str, ...] = ()
    #: identifier prefix that only the extension itself may use
    reserved_prefix: str | None = None


@dataclass(frozen=True)
class VersionSpec:
    version: int
    classes: dict[str, ClassDef]
    primitives: tuple[str, ...]
    terms: frozenset[str]
    max_contents: int | None
    max_extends_direct: int | None
    max_extends_total: int | None
    max_extends_depth: int | None
    max_schema_depth: int | None
    max_id_length: int
    max_interface_id_length: int
    semantic_types: dict[str, str]
    builtin_extension: Extension | None
    extensions: dict[str, Extension]

    def class_dtmi(self, cls: str) -> str:
        return f"dtmi:dtdl:class:{cls};{self.version}"

    def property_dtmi(self, prop: str) -> str:
        return f"dtmi:dtdl:property:{prop};{self.version}"

    def primitive_dtmi(self, prim: str) -> str:
        if prim in GEOSPATIAL:
            return f"dtmi:standard:schema:geospatial:{prim};{self.version}"
        return f"dtmi:dtdl:instance:Schema:{prim};{self.version}"


def _common(v: int) -> dict[str, PropDef]:
    dn = 64 if v == 2 else 512
    return {
        "comment": PropDef("comment", "string", max_length=512),
        "description": PropDef("description", "langstring", max_length=512),
        "displayName": PropDef("displayName", "langstring", max_length=dn),
    }


def _name(v: int) -> PropDef:
    return PropDef("name", "string", required=True, max_length=64 if v == 2 else 512, pattern=NAME_PATTERN)


def _schema_prop(v: int, prims: tuple[str, ...], required: bool = True) -> PropDef:
    return PropDef("schema", "object", required=required, classes=COMPLEX_SCHEMAS, instances=prims + GEOSPATIAL)


def _semantic_ext(v: int, context: str, targets: tuple[str, ...]) -> Extension:
    sem = semantic_types(v)
    unit_prop = {"unit": PropDef("unit", "choice")}
    cotypes = {st: (targets, unit_prop) for st in sem}
    terms = frozenset(sem) | frozenset(UNIT_TYPES) | frozenset(u for ut in UNIT_TYPES.values() for u in ut.split()) | {"unit"}
    return Extension(context, cotypes, terms)


def _iotcentral() -> Extension:
    """IoT Central extension v2 (DTDL v2): adjunct types with schema restrictions, two schemas."""
    ctx = "dtmi:iotcentral:context;2"
    targets = ("Property", "Telemetry")
    unit = {"unit": PropDef("unit", "choice")}
    cotypes = {"State": (targets, {}), "Event": (targets, {}), "Location": (targets, {}),
               "VelocityVector": (targets, unit), "AccelerationVector": (targets, unit)}
    rules = {"State": ("type", ("Enum",)),
             "Event": ("type", ("double", "float", "integer", "long", "string")),
             "Location": ("value", GEOSPATIAL + ("geopoint",)),
             "VelocityVector": ("value", ("vector",)),
             "AccelerationVector": ("value", ("vector",))}
    return Extension(ctx, cotypes, frozenset(cotypes) | {"geopoint", "vector", "unit"}, rules,
                     ("geopoint", "vector"), "dtmi:iotcentral:")


def _simple_ext(context: str, cotype: str, targets: tuple[str, ...], props: dict[str, PropDef]) -> Extension:
    return Extension(context, {cotype: (targets, props)}, frozenset({cotype, *props}))


@lru_cache(maxsize=None)
def spec(v: int) -> VersionSpec:
    """Build the tables for DTDL version ``v`` (2, 3 or 4)."""
    prims = {2: PRIMITIVES_V2, 3: PRIMITIVES_V3, 4: PRIMITIVES_V4}[v]
    c = _common
    payload = "CommandPayload" if v == 2 else None
    classes: dict[str, ClassDef] = {}

    def add(name: str, props: dict[str, PropDef], **kw: bool) -> None:
        merged = dict(c(v))
        merged.update(props)
        classes[name] = ClassDef(name, merged, **kw)

    add("Interface", {
        "contents": PropDef("contents", "object", max_count=300 if v == 2 else None, classes=CONTENT_CLASSES,
                            unique_names=True),
        "extends": PropDef("extends", "object", max_count=2 if v == 2 else None, classes=("Interface",)),
        "schemas": PropDef("schemas", "object", max_count=None, classes=COMPLEX_SCHEMAS,
                           id_required=True),
    }, rootable=True, id_required_top=True)
    add("Telemetry", {"name": _name(v), "schema": _schema_prop(v, prims)})
    add("Property", {"name": _name(v), "schema": _schema_prop(v, prims),
                     "writable": PropDef("writable", "boolean")})
    req_cls = ("CommandPayload",) if v == 2 else ("CommandRequest",)
    resp_cls = ("CommandPayload",) if v == 2 else ("CommandResponse",)
    add("Command", {
        "name": _name(v),
        "commandType": PropDef("commandType", "choice", choices=("synchronous", "asynchronous")),
        "request": PropDef("request", "object", classes=req_cls),
        "response": PropDef("response", "object", classes=resp_cls),
    })
    if payload:
        add("CommandPayload", {"name": _name(v), "schema": _schema_prop(v, prims)})
    else:
        extra = {"nullable": PropDef("nullable", "boolean")} if v >= 4 else {}
        add("CommandRequest", {"name": _name(v), "schema": _schema_prop(v, prims), **extra})
        add("CommandResponse", {"name": _name(v), "schema": _schema_prop(v, prims), **extra})
    add("Relationship", {
        "name": _name(v),
        "maxMultiplicity": PropDef("maxMultiplicity", "integer", min_value=1, max_value=500 if v == 2 else None),
        "minMultiplicity": PropDef("minMultiplicity", "integer", exact_value=0),
        "properties": PropDef("properties", "object", max_count=None, classes=("Property",),
                              unique_names=True),
        "target": PropDef("target", "identifier"),
        "writable": PropDef("writable", "boolean"),
    })
    add("Component", {"name": _name(v),
                      "schema": PropDef("schema", "object", required=True, classes=("Interface",))})
    add("Array", {"elementSchema": PropDef("elementSchema", "object", required=True, classes=COMPLEX_SCHEMAS,
                                           instances=prims + GEOSPATIAL)})
    add("Enum", {
        "enumValues": PropDef("enumValues", "object", required=(v == 2), max_count=100 if v == 2 else None, classes=("EnumValue",),
                              unique_names=True),
        "valueSchema": PropDef("valueSchema", "object", required=True, classes=(), instances=("integer", "string")),
    })
    add("EnumValue", {"name": _name(v), "enumValue": PropDef("enumValue", "enumvalue", required=True)})
    add("Map", {
        "mapKey": PropDef("mapKey", "object", required=True, classes=("MapKey",)),
        "mapValue": PropDef("mapValue", "object", required=True, classes=("MapValue",)),
    })
    add("MapKey", {"name": _name(v), "schema": PropDef("schema", "object", required=True, classes=(),
                                                       instances=("string",))})
    add("MapValue", {"name": _name(v), "schema": _schema_prop(v, prims)})
    add("Object", {"fields": PropDef("fields", "object", required=(v == 2), max_count=30 if v == 2 else None, classes=("Field",),
                                     unique_names=True)})
    add("Field", {"name": _name(v), "schema": _schema_prop(v, prims)})

    terms: set[str] = set(classes) | {"Entity", "NamedEntity", "Content", "Schema", "ComplexSchema",
                                      "PrimitiveSchema", "CommandType", "Unit", "UnitAttribute",
                                      "SemanticType", "SemanticUnit", "Boolean", "Date", "DateTime",
                                      "Double", "Duration", "Float", "Integer", "Long", "String", "Time",
                                      "synchronous", "asynchronous", "languageVersion"}
    for cd in classes.values():
        terms.update(cd.props)
    terms.update(prims)
    terms.update(GEOSPATIAL)

    sem_targets_v2 = ("Telemetry", "Property")
    sem_targets = ("Telemetry", "Property", "Field", "MapValue", "CommandRequest", "CommandResponse")
    extensions: dict[str, Extension] = {}
    builtin = None
    if v == 2:
        builtin = _semantic_ext(2, "dtmi:dtdl:context;2", sem_targets_v2)
        terms |= builtin.terms
        extensions["dtmi:iotcentral:context;2"] = _iotcentral()
        # Historization v1 is usable in DTDL v2 and v3 (and accepted with v4)
        h1 = "dtmi:dtdl:extension:historization;1"
        extensions[h1] = _simple_ext(h1, "Historized", ("Property", "Telemetry"), {})
        extensions["dtmi:dtdl:extension:layering;1"] = Extension(
            "dtmi:dtdl:extension:layering;1", {"Layer": (tuple(classes), {})}, frozenset({"Layer"}))
    else:
        # extension versions per DTDL version (the extension specs' "Usable in DTDL version" lines)
        qts = (1,) if v == 3 else (1, 2, 3)
        for n in qts:
            qt = f"dtmi:dtdl:extension:quantitativeTypes;{n}"
            extensions[qt] = _semantic_ext(v, qt, sem_targets)
        anns = (1, 2) if v == 3 else (2,)
        for n in anns:
            a = f"dtmi:dtdl:extension:annotation;{n}"
            extensions[a] = _simple_ext(a, "ValueAnnotation", ("Property", "Telemetry"),
                                        {"annotates": PropDef("annotates", "string", required=True,
                                                              pattern=NAME_PATTERN)})
        for n in anns:
            o = f"dtmi:dtdl:extension:overriding;{n}"
            extensions[o] = _simple_ext(o, "Override", ("Property",),
                                        {"overrides": PropDef("overrides", "string", required=True)})
        for h in ("dtmi:dtdl:extension:historization;1", "dtmi:dtdl:extension:historization;2"):
            extensions[h] = _simple_ext(h, "Historized", ("Property", "Telemetry"), {})
        extensions["dtmi:dtdl:extension:requirement;1"] = _simple_ext(
            "dtmi:dtdl:extension:requirement;1", "Required", ("Field",), {})
        extensions["dtmi:dtdl:extension:requirement;2"] = _simple_ext(
            "dtmi:dtdl:extension:requirement;2", "Required", ("Field", "Property"), {})
        any_prop = {n: PropDef(n, "any") for n in ("telemetryTopic", "commandTopic", "payloadFormat", "index",
                                                    "ttl", "telemetryServiceGroupId", "commandServiceGroupId",
                                                    "cloudEventsType", "fencing")}
        every = tuple(CONTENT_CLASSES + COMPLEX_SCHEMAS) + ("Interface", "Field", "CommandRequest",
                                                              "CommandResponse", "EnumValue", "MapKey", "MapValue")
        mqtt_cotypes = {ct: (every, any_prop) for ct in ("Mqtt", "Indexed", "Idempotent", "Cacheable", "Transparent",
                                                         "Result", "NormalResult", "ErrorResult", "Error",
                                                         "ErrorMessage", "Fenced", "Sensitive", "Contextual")}
        extensions["dtmi:dtdl:extension:layering;1"] = Extension(
            "dtmi:dtdl:extension:layering;1", {"Layer": (tuple(classes), {})}, frozenset({"Layer"}))
        for m in range(1, 5):
            key = f"dtmi:dtdl:extension:mqtt;{m}"
            extensions[key] = Extension(key, mqtt_cotypes, frozenset(mqtt_cotypes) | frozenset(any_prop))
        if v == 4:
            extensions["dtmi:iotoperations:context;4"] = Extension("dtmi:iotoperations:context;4", {}, frozenset())
    return VersionSpec(
        version=v,
        classes=classes,
        primitives=prims,
        terms=frozenset(terms),
        max_contents=300 if v == 2 else None,
        max_extends_direct=2 if v == 2 else None,
        max_extends_total=None if v == 2 else 1024,
        max_extends_depth=10 if v == 2 else 10,
        max_schema_depth=5 if v == 2 else 5,
        max_id_length=2048,
        max_interface_id_length=128,
        semantic_types=semantic_types(v),
        builtin_extension=builtin,
        extensions=extensions,
    )
