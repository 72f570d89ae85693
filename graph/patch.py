"""RFC 6902 JSON Patch on a twin's or relationship's property document.

``jsonpatch`` applies the operations; this module refuses what the graph does not allow (a patch
that replaces the whole document) and turns every failure into a :class:`ValidationError` naming
the operation and its path, so a client sees which operation is wrong instead of a library error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsonpatch
import jsonpointer

from graph.errors import Problem, ValidationError


def apply_patch(document: Mapping[str, Any], patch: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Apply an RFC 6902 JSON Patch to a copy of ``document``; a bad patch is a ValidationError."""
    if not isinstance(patch, (list, tuple)):
        raise ValidationError("invalid JSON Patch", [Problem("", "a JSON Patch is an array of operations")])
    for i, operation in enumerate(patch):
        path = operation.get("path") if isinstance(operation, Mapping) else None
        if not isinstance(path, str):
            raise ValidationError("invalid JSON Patch", [Problem(f"/{i}", "each operation needs a string 'path'")])
        if path in ("", "/") and operation.get("op") != "test":
            raise ValidationError(
                "invalid JSON Patch", [Problem(path, "the whole document cannot be replaced by a patch; use replace")]
            )
    result: Any = dict(document)
    for i, operation in enumerate(patch):
        path = operation["path"]
        try:
            result = jsonpatch.JsonPatch([dict(operation)]).apply(result, in_place=False)
        except jsonpatch.JsonPatchTestFailed as error:
            raise ValidationError("JSON Patch test failed", [Problem(path, f"operation {i}: {error}")]) from error
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, KeyError) as error:
            raise ValidationError("invalid JSON Patch", [Problem(path, f"operation {i}: {error}")]) from error
    if not isinstance(result, dict):
        raise ValidationError("invalid JSON Patch", [Problem("", "the patched document is not an object")])
    return result


__all__ = ["apply_patch"]
