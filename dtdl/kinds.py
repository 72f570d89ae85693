"""Names of DTDL's kinds of content and schema: the one place every room reads them from.

The metamodel tables, the model set (``Schema.is_primitive``), the graph's value checks and the
telemetry encoders all branch on these names.  Keeping them here means a kind that DTDL adds
(or a value range it fixes) is written once, and no room can drift from the parser's idea of it.
Source: the DTDL v2/v3/v4 language specifications.
"""
from __future__ import annotations

from collections.abc import Mapping

#: The element classes an Interface's ``contents`` may hold.
CONTENT_CLASSES = ("Command", "Component", "Property", "Relationship", "Telemetry")
#: The complex schema classes; every other schema kind is a primitive (or geospatial) name.
COMPLEX_SCHEMAS = ("Array", "Enum", "Map", "Object")

PRIMITIVES_V2 = ("boolean", "date", "dateTime", "double", "duration", "float", "integer", "long",
                 "string", "time")
PRIMITIVES_V3 = PRIMITIVES_V2 + ("byte", "bytes", "decimal", "short", "unsignedByte", "unsignedInteger",
                                 "unsignedLong", "unsignedShort", "uuid")
PRIMITIVES_V4 = PRIMITIVES_V3 + ("scaledDecimal",)
#: The primitive schema names each DTDL version defines (each version adds to the one before).
PRIMITIVES_BY_VERSION: Mapping[int, tuple[str, ...]] = {2: PRIMITIVES_V2, 3: PRIMITIVES_V3, 4: PRIMITIVES_V4}

#: The geospatial schemas (GeoJSON shapes), usable wherever a primitive schema is.
GEOSPATIAL = ("point", "lineString", "polygon", "multiPoint", "multiLineString", "multiPolygon")
#: The primitive schemas whose values are numbers.
NUMERIC = frozenset({"double", "float", "integer", "long", "byte", "decimal", "short", "unsignedByte",
                     "unsignedInteger", "unsignedLong", "unsignedShort", "scaledDecimal"})

#: Inclusive value range of each integer primitive, as its width and signedness fix it.
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "byte": (-(2**7), 2**7 - 1),
    "short": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
    "unsignedByte": (0, 2**8 - 1),
    "unsignedShort": (0, 2**16 - 1),
    "unsignedInteger": (0, 2**32 - 1),
    "unsignedLong": (0, 2**64 - 1),
}
