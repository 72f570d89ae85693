"""GridTwin DTDL language engine: parser and validator for DTDL v2, v3 and v4.

Usage::

    import dtdl
    result = dtdl.validate([model_json, other_model_json])
    if not result.ok:
        for p in result.problems:
            print(p.rule, p.document, p.pointer, p.message)
    substation = result.models.interfaces["dtmi:gridtwin:Substation;1"]
"""
from .api import ValidationResult, validate
from .dtmi import Dtmi, is_dtmi, parse_dtmi
from .model import Content, Interface, ModelSet, NamedSchema, Schema
from .problems import Problem

__all__ = ["validate", "ValidationResult", "Problem", "ModelSet", "Interface", "Content", "Schema",
           "NamedSchema", "Dtmi", "parse_dtmi", "is_dtmi"]
