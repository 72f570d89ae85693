"""Reading @id: a DTMI that is well formed for the DTDL version, not reserved, short enough, unique.

An element gets its @id (and is registered for references) only when every check passes, so
the cross-element rules never see an identifier that was reported as wrong.
"""
from __future__ import annotations

from .dtmi import Dtmi, has_reserved_prefix, parse_dtmi
from .elements import Element
from .metamodel import ClassDef
from .parse_state import ParseState

#: A problem found in an @id: (rule, cause, action).
IdProblem = tuple[str, str, str]


def read_id(state: ParseState, obj: dict, element: Element, class_def: ClassDef, top: bool, id_required: bool,
            label: str | None) -> None:
    """Check the @id of ``obj``; when it is good, give it to ``element`` and register the element."""
    doc, path = element.doc, element.path
    if "@id" not in obj:
        if class_def.id_required_top or id_required:
            state.report("missingTopLevelId" if top else "missingRequiredId", f"the {element.cls} has no @id",
                         "Add an @id such as \"dtmi:com:example:Thing;1\"", doc, path, element=label)
        return
    raw = obj["@id"]
    id_path = path + ("@id",)
    if not isinstance(raw, str):
        state.report("idNotString", f"@id {raw!r} is not a string", "Give @id as a DTMI string", doc, id_path,
                     element=label, value=raw)
        return
    dtmi = parse_dtmi(raw)
    problems = _id_problems(state, raw, dtmi, element)
    for rule, cause, action in problems:
        state.report(rule, cause, action, doc, id_path, element=label, value=raw)
    if problems:
        return
    if raw in state.by_id:
        other = state.by_id[raw]
        state.report("duplicateDefinition", f"@id {raw} is defined more than once",
                     f"Give one of the elements (the other is in document {other.doc} at "
                     f"{'/'.join(map(str, other.path)) or '/'}) a different @id", doc, id_path, element=raw, value=raw)
        return
    element.id = raw
    state.by_id[raw] = element


def _id_problems(state: ParseState, raw: str, dtmi: Dtmi | None, element: Element) -> list[IdProblem]:
    """What is wrong with the @id ``raw`` of ``element`` (the first check that fails)."""
    version_spec = element.scope.spec
    if dtmi is None:
        return [("invalidId", f"@id {raw!r} is not a valid DTMI",
                 "Use the form dtmi:<segment>(:<segment>)*;<version>, segments start with a letter")]
    if version_spec.version == 2 and (not dtmi.has_version or dtmi.minor_version):
        return [("invalidId", f"@id {raw!r} needs a major version only in DTDL v2",
                 f"Change @id to {dtmi.versionless};1")]
    if dtmi.fragment:
        return _fragment_problems(raw, element)
    if any(extension.reserved_prefix and raw.startswith(extension.reserved_prefix)
           for extension in element.scope.extensions):
        return [("reservedId", f"@id {raw!r} uses a prefix reserved for an extension in @context",
                 "Choose an @id outside the extension's namespace")]
    if has_reserved_prefix(raw) and not state.tolerant(element.scope):
        return [("reservedId", f"@id {raw!r} uses a prefix reserved for DTDL",
                 "Choose an @id outside dtmi:dtdl: and dtmi:standard:")]
    if dtmi.is_reserved:
        return [("reservedId", f"@id {raw!r} has a segment starting with '_', reserved for generated IDs",
                 "Remove the leading underscore")]
    limit = version_spec.max_interface_id_length if element.cls == "Interface" else version_spec.max_id_length
    if len(raw) > limit:
        return [("idTooLong", f"@id is {len(raw)} characters, more than {limit}",
                 f"Shorten the @id to at most {limit} characters")]
    return []


def _fragment_problems(raw: str, element: Element) -> list[IdProblem]:
    """An @id with a fragment names a layer (layering extension) or is not allowed at all."""
    unfragmented = raw.partition("#")[0]
    if "Layer" in element.cotypes:
        # a layer of the element with the unfragmented @id; layers are only valid inside layers,
        # and a top-level layer was already rejected, so this one is misplaced
        return [("mismatchedLayers", f"layer {raw!r} is nested in an element that is not a layer",
                 "Put layers only inside layers of the same name"),
                ("invalidId", f"@id {raw!r} has a fragment", f"Remove the fragment: {unfragmented}")]
    return [("disallowedIdFragment", f"@id {raw!r} has a fragment", f"Remove the fragment: {unfragmented}")]
