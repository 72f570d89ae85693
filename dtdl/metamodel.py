"""Version tables of the DTDL metamodel: classes, their properties and limits per version.

Written from the DTDL v2/v3/v4 language specifications.  The parser is driven by these tables,
so a rule that differs between versions is changed here, not in parser code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from .kinds import COMPLEX_SCHEMAS, CONTENT_CLASSES, GEOSPATIAL, PRIMITIVES_BY_VERSION
from .units import ALL_UNITS, UNIT_TYPES, semantic_types

NAME_PATTERN = r"^[a-zA-Z](?:[a-zA-Z0-9_]*[a-zA-Z0-9])?$"

DTDL_CONTEXTS = {"dtmi:dtdl:context;2": 2, "dtmi:dtdl:context;3": 3, "dtmi:dtdl:context;4": 4}

#: Limits that are the same in every DTDL version (v4's ``#limitless`` context lifts the depths).
MAX_EXTENDS_DEPTH = 10
MAX_SCHEMA_DEPTH = 5
MAX_ID_LENGTH = 2048
MAX_INTERFACE_ID_LENGTH = 128
MAX_DESCRIPTION_LENGTH = 512  # of comment and description


@dataclass(frozen=True)
class VersionLimits:
    """The caps that differ between DTDL versions; ``None`` is no cap (v3 lifted most of v2's)."""

    name_length: int  # of name and displayName
    contents: int | None
    extends: int | None  # entries of one Interface's 'extends'
    extends_total: int | None  # Interfaces in a whole extends hierarchy
    max_multiplicity: int | None  # the largest maxMultiplicity a Relationship may declare
    enum_values: int | None
    object_fields: int | None
    #: v2 requires an Enum to list enumValues and an Object to list fields; v3 lets them be empty
    requires_enum_values_and_fields: bool


LIMITS: dict[int, VersionLimits] = {
    2: VersionLimits(name_length=64, contents=300, extends=2, extends_total=None, max_multiplicity=500,
                     enum_values=100, object_fields=30, requires_enum_values_and_fields=True),
    3: VersionLimits(name_length=512, contents=None, extends=None, extends_total=1024, max_multiplicity=None,
                     enum_values=None, object_fields=None, requires_enum_values_and_fields=False),
}
LIMITS[4] = LIMITS[3]

#: The element classes the semantic types (units) apply to: v2 built in, v3+ QuantitativeTypes.
_SEMANTIC_TARGETS_V2 = ("Telemetry", "Property")
_SEMANTIC_TARGETS = ("Telemetry", "Property", "Field", "MapValue", "CommandRequest", "CommandResponse")
#: Extension versions usable with each DTDL version (the extension specs' "Usable in DTDL version"
#: lines); overriding is usable in the same versions as annotation.
_QUANTITATIVE_TYPES_VERSIONS = {3: (1,), 4: (1, 2, 3)}
_ANNOTATION_VERSIONS = {3: (1, 2), 4: (2,)}
_MQTT_VERSIONS = (1, 2, 3, 4)
_MQTT_COTYPES = ("Mqtt", "Indexed", "Idempotent", "Cacheable", "Transparent", "Result", "NormalResult",
                 "ErrorResult", "Error", "ErrorMessage", "Fenced", "Sensitive", "Contextual")
_MQTT_PROPERTIES = ("telemetryTopic", "commandTopic", "payloadFormat", "index", "ttl", "telemetryServiceGroupId",
                    "commandServiceGroupId", "cloudEventsType", "fencing")
#: Terms every version defines beyond its classes, properties and schema names.
_CORE_TERMS = frozenset({"Entity", "NamedEntity", "Content", "Schema", "ComplexSchema", "PrimitiveSchema",
                         "CommandType", "Unit", "UnitAttribute", "SemanticType", "SemanticUnit", "Boolean", "Date",
                         "DateTime", "Double", "Duration", "Float", "Integer", "Long", "String", "Time",
                         "synchronous", "asynchronous", "languageVersion"})


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
    max_extends_total: int | None
    max_extends_depth: int
    max_schema_depth: int
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


@lru_cache(maxsize=None)
def spec(version: int) -> VersionSpec:
    """Build the tables for DTDL version ``version`` (2, 3 or 4)."""
    classes = _classes(version)
    terms = set(_terms_of(classes, PRIMITIVES_BY_VERSION[version]))
    builtin: Extension | None = None
    if version == 2:
        builtin = _semantic_extension(2, "dtmi:dtdl:context;2", _SEMANTIC_TARGETS_V2)
        terms |= builtin.terms
        extensions = _v2_extensions(classes)
    else:
        extensions = _v3_extensions(version, classes)
    return VersionSpec(
        version=version,
        classes=classes,
        primitives=PRIMITIVES_BY_VERSION[version],
        terms=frozenset(terms),
        max_extends_total=LIMITS[version].extends_total,
        max_extends_depth=MAX_EXTENDS_DEPTH,
        max_schema_depth=MAX_SCHEMA_DEPTH,
        max_id_length=MAX_ID_LENGTH,
        max_interface_id_length=MAX_INTERFACE_ID_LENGTH,
        semantic_types=semantic_types(version),
        builtin_extension=builtin,
        extensions=extensions,
    )


# ---------------------------------------------------------------------------------------- classes

def _classes(version: int) -> dict[str, ClassDef]:
    """Every element class of ``version``; each has the common properties first, then its own."""
    own_properties = {**_interface_and_contents(version), **_complex_schemas(version)}
    return {name: ClassDef(name, {**_common_properties(version), **props}, rootable=name == "Interface",
                           id_required_top=name == "Interface")
            for name, props in own_properties.items()}


def _common_properties(version: int) -> dict[str, PropDef]:
    return {
        "comment": PropDef("comment", "string", max_length=MAX_DESCRIPTION_LENGTH),
        "description": PropDef("description", "langstring", max_length=MAX_DESCRIPTION_LENGTH),
        "displayName": PropDef("displayName", "langstring", max_length=LIMITS[version].name_length),
    }


def _name_property(version: int) -> PropDef:
    return PropDef("name", "string", required=True, max_length=LIMITS[version].name_length, pattern=NAME_PATTERN)


def _schema_property(version: int) -> PropDef:
    """A required 'schema': a complex schema, or a primitive or geospatial schema name."""
    return PropDef("schema", "object", required=True, classes=COMPLEX_SCHEMAS,
                   instances=PRIMITIVES_BY_VERSION[version] + GEOSPATIAL)


def _named_schema(version: int) -> dict[str, PropDef]:
    return {"name": _name_property(version), "schema": _schema_property(version)}


def _interface_and_contents(version: int) -> dict[str, dict[str, PropDef]]:
    limits = LIMITS[version]
    classes: dict[str, dict[str, PropDef]] = {
        "Interface": {
            "contents": PropDef("contents", "object", max_count=limits.contents, classes=CONTENT_CLASSES,
                                unique_names=True),
            "extends": PropDef("extends", "object", max_count=limits.extends, classes=("Interface",)),
            "schemas": PropDef("schemas", "object", max_count=None, classes=COMPLEX_SCHEMAS, id_required=True),
        },
        "Telemetry": _named_schema(version),
        "Property": {**_named_schema(version), "writable": PropDef("writable", "boolean")},
        "Command": _command_properties(version),
    }
    classes.update(_command_payloads(version))
    classes["Relationship"] = {
        "name": _name_property(version),
        "maxMultiplicity": PropDef("maxMultiplicity", "integer", min_value=1, max_value=limits.max_multiplicity),
        "minMultiplicity": PropDef("minMultiplicity", "integer", exact_value=0),
        "properties": PropDef("properties", "object", max_count=None, classes=("Property",), unique_names=True),
        "target": PropDef("target", "identifier"),
        "writable": PropDef("writable", "boolean"),
    }
    classes["Component"] = {"name": _name_property(version),
                            "schema": PropDef("schema", "object", required=True, classes=("Interface",))}
    return classes


def _command_properties(version: int) -> dict[str, PropDef]:
    """v2 Commands have one payload class for both directions; v3 split it in request and response."""
    request_classes = ("CommandPayload",) if version == 2 else ("CommandRequest",)
    response_classes = ("CommandPayload",) if version == 2 else ("CommandResponse",)
    return {
        "name": _name_property(version),
        "commandType": PropDef("commandType", "choice", choices=("synchronous", "asynchronous")),
        "request": PropDef("request", "object", classes=request_classes),
        "response": PropDef("response", "object", classes=response_classes),
    }


def _command_payloads(version: int) -> dict[str, dict[str, PropDef]]:
    if version == 2:
        return {"CommandPayload": _named_schema(version)}
    # v4 lets a request or response declare that it may be null
    nullable = {"nullable": PropDef("nullable", "boolean")} if version >= 4 else {}
    return {"CommandRequest": {**_named_schema(version), **nullable},
            "CommandResponse": {**_named_schema(version), **nullable}}


def _complex_schemas(version: int) -> dict[str, dict[str, PropDef]]:
    limits = LIMITS[version]
    required = limits.requires_enum_values_and_fields
    return {
        "Array": {"elementSchema": PropDef("elementSchema", "object", required=True, classes=COMPLEX_SCHEMAS,
                                           instances=PRIMITIVES_BY_VERSION[version] + GEOSPATIAL)},
        "Enum": {
            "enumValues": PropDef("enumValues", "object", required=required, max_count=limits.enum_values,
                                  classes=("EnumValue",), unique_names=True),
            "valueSchema": PropDef("valueSchema", "object", required=True, classes=(),
                                   instances=("integer", "string")),
        },
        "EnumValue": {"name": _name_property(version),
                      "enumValue": PropDef("enumValue", "enumvalue", required=True)},
        "Map": {
            "mapKey": PropDef("mapKey", "object", required=True, classes=("MapKey",)),
            "mapValue": PropDef("mapValue", "object", required=True, classes=("MapValue",)),
        },
        "MapKey": {"name": _name_property(version),
                   "schema": PropDef("schema", "object", required=True, classes=(), instances=("string",))},
        "MapValue": _named_schema(version),
        "Object": {"fields": PropDef("fields", "object", required=required, max_count=limits.object_fields,
                                     classes=("Field",), unique_names=True)},
        "Field": _named_schema(version),
    }


def _terms_of(classes: dict[str, ClassDef], primitives: tuple[str, ...]) -> frozenset[str]:
    """The terms a version defines: class, property and schema names and the abstract classes."""
    terms = set(classes) | _CORE_TERMS
    for class_def in classes.values():
        terms.update(class_def.props)
    terms.update(primitives)
    terms.update(GEOSPATIAL)
    return frozenset(terms)


# ------------------------------------------------------------------------------------- extensions

def _v2_extensions(classes: dict[str, ClassDef]) -> dict[str, Extension]:
    historization = "dtmi:dtdl:extension:historization;1"  # usable in DTDL v2 and v3 (and accepted with v4)
    return {
        "dtmi:iotcentral:context;2": _iotcentral(),
        historization: _historization(historization),
        "dtmi:dtdl:extension:layering;1": _layering(classes),
    }


def _v3_extensions(version: int, classes: dict[str, ClassDef]) -> dict[str, Extension]:
    extensions: dict[str, Extension] = {}
    for number in _QUANTITATIVE_TYPES_VERSIONS[version]:
        context = f"dtmi:dtdl:extension:quantitativeTypes;{number}"
        extensions[context] = _semantic_extension(version, context, _SEMANTIC_TARGETS)
    for number in _ANNOTATION_VERSIONS[version]:
        context = f"dtmi:dtdl:extension:annotation;{number}"
        extensions[context] = _simple_extension(
            context, "ValueAnnotation", ("Property", "Telemetry"),
            {"annotates": PropDef("annotates", "string", required=True, pattern=NAME_PATTERN)})
    for number in _ANNOTATION_VERSIONS[version]:
        context = f"dtmi:dtdl:extension:overriding;{number}"
        extensions[context] = _simple_extension(context, "Override", ("Property",),
                                                {"overrides": PropDef("overrides", "string", required=True)})
    for context in ("dtmi:dtdl:extension:historization;1", "dtmi:dtdl:extension:historization;2"):
        extensions[context] = _historization(context)
    extensions["dtmi:dtdl:extension:requirement;1"] = _simple_extension(
        "dtmi:dtdl:extension:requirement;1", "Required", ("Field",), {})
    extensions["dtmi:dtdl:extension:requirement;2"] = _simple_extension(
        "dtmi:dtdl:extension:requirement;2", "Required", ("Field", "Property"), {})
    extensions["dtmi:dtdl:extension:layering;1"] = _layering(classes)
    extensions.update(_mqtt_extensions())
    if version == 4:
        extensions["dtmi:iotoperations:context;4"] = Extension("dtmi:iotoperations:context;4", {}, frozenset())
    return extensions


def _semantic_extension(version: int, context: str, targets: tuple[str, ...]) -> Extension:
    """Semantic types as co-types that add a 'unit' (v2's built-ins, v3+'s QuantitativeTypes)."""
    semantic = semantic_types(version)
    unit_prop = {"unit": PropDef("unit", "choice")}
    cotypes = {semantic_type: (targets, unit_prop) for semantic_type in semantic}
    terms = frozenset(semantic) | frozenset(UNIT_TYPES) | ALL_UNITS | {"unit"}
    return Extension(context, cotypes, terms)


def _iotcentral() -> Extension:
    """IoT Central extension v2 (DTDL v2): adjunct types with schema restrictions, two schemas."""
    context = "dtmi:iotcentral:context;2"
    targets: tuple[str, ...] = ("Property", "Telemetry")
    unit = {"unit": PropDef("unit", "choice")}
    cotypes = {"State": (targets, {}), "Event": (targets, {}), "Location": (targets, {}),
               "VelocityVector": (targets, unit), "AccelerationVector": (targets, unit)}
    rules = {"State": ("type", ("Enum",)),
             "Event": ("type", ("double", "float", "integer", "long", "string")),
             "Location": ("value", GEOSPATIAL + ("geopoint",)),
             "VelocityVector": ("value", ("vector",)),
             "AccelerationVector": ("value", ("vector",))}
    return Extension(context, cotypes, frozenset(cotypes) | {"geopoint", "vector", "unit"}, rules,
                     ("geopoint", "vector"), "dtmi:iotcentral:")


def _historization(context: str) -> Extension:
    return _simple_extension(context, "Historized", ("Property", "Telemetry"), {})


def _layering(classes: dict[str, ClassDef]) -> Extension:
    """Layering v1: any element may be a 'Layer' of the element with the unfragmented @id."""
    context = "dtmi:dtdl:extension:layering;1"
    return Extension(context, {"Layer": (tuple(classes), {})}, frozenset({"Layer"}))


def _mqtt_extensions() -> dict[str, Extension]:
    """MQTT v1-v4: co-types (of almost every class) that carry topic and payload settings."""
    any_prop = {name: PropDef(name, "any") for name in _MQTT_PROPERTIES}
    every_class = tuple(CONTENT_CLASSES + COMPLEX_SCHEMAS) + ("Interface", "Field", "CommandRequest",
                                                               "CommandResponse", "EnumValue", "MapKey", "MapValue")
    cotypes = {cotype: (every_class, any_prop) for cotype in _MQTT_COTYPES}
    contexts = (f"dtmi:dtdl:extension:mqtt;{number}" for number in _MQTT_VERSIONS)
    return {context: Extension(context, cotypes, frozenset(cotypes) | frozenset(any_prop)) for context in contexts}


def _simple_extension(context: str, cotype: str, targets: tuple[str, ...], props: dict[str, PropDef]) -> Extension:
    return Extension(context, {cotype: (targets, props)}, frozenset({cotype, *props}))
