"""Cross-element rules and construction of the ``ModelSet``.

Runs after every document is parsed, because references (``extends``, schema DTMIs, component
schemas) may point into any document of the set.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

from .model import Content, Interface, ModelSet, NamedSchema, Schema
from .metamodel import GEOSPATIAL
from .parser import Elem, Parser, Prim, Ref

_FROZEN_EMPTY: Mapping[str, Any] = MappingProxyType({})
SCHEMA_CLASSES = ("Array", "Enum", "Map", "Object")


class Resolver:
    def __init__(self, parser: Parser) -> None:
        self.p = parser
        self.by_id = parser.by_id
        self._schema_cache: dict[int, Schema | None] = {}

    def err(self, rule: str, cause: str, action: str, elem: Elem, path: tuple[object, ...] | None = None,
            value: Any = None, prop: str | None = None) -> None:
        self.p.err(rule, cause, action, elem.doc, elem.path if path is None else path, element=elem.label(),
                   value=value, prop=prop)

    # ------------------------------------------------------------------ references
    def target(self, item: Any) -> Any:
        if isinstance(item, Ref):
            return self.by_id.get(item.dtmi)
        return item

    def check_references(self) -> None:
        for elem in self.p.all:
            s = elem.scope.spec
            cdef = s.classes[elem.cls]
            for name, pd in cdef.props.items():
                if pd.kind != "object":
                    continue
                for item in elem.objects(name):
                    if not isinstance(item, Ref):
                        continue
                    t = self.by_id.get(item.dtmi)
                    if t is None and item.dtmi.startswith(("dtmi:iotcentral:", "dtmi:iotoperations:")):
                        self.p.err("undefinedReservedId",
                                   f"'{name}' refers to {item.dtmi}, an identifier reserved for an extension",
                                   "Refer to an element of your own namespace", elem.doc, item.path,
                                   element=elem.label(), value=item.dtmi, prop=name)
                    elif t is None:
                        self.p.err("missingDependency" if False else "dtmi:dtdl:resolutionError:missingDependency",
                                   f"'{name}' refers to {item.dtmi}, which is not in the model set",
                                   f"Add the model defining {item.dtmi} to the documents, or correct the DTMI",
                                   elem.doc, item.path, element=elem.label(), value=item.dtmi, prop=name)
                    elif t.cls != "Interface" and t.partition() is not elem.partition():
                        self.p.err("dtmi:dtdl:parsingError:crossPartitionReference",
                                   f"'{name}' refers to {item.dtmi}, defined inside another Interface "
                                   f"({t.partition().label()})",
                                   f"Define {item.dtmi} in the 'schemas' of this Interface, or inline it",
                                   elem.doc, item.path, element=elem.label(), value=item.dtmi, prop=name)
                    elif t.cls not in pd.classes:
                        self.p.err("badType",
                                   f"'{name}' refers to {item.dtmi}, a {t.cls}, but needs a {'/'.join(pd.classes)}",
                                   f"Point '{name}' at a {'/'.join(pd.classes)}", elem.doc, item.path,
                                   element=elem.label(), value=item.dtmi, prop=name)
                        others = [x for x in elem.objects(name) if x is not item and x is not None and
                                  (not isinstance(x, Ref) or (self.by_id.get(x.dtmi) is not None and
                                                              self.by_id[x.dtmi].cls in pd.classes))]
                        if pd.required and not others:
                            self.p.err("propertyCountBelowMin", f"'{name}' has no valid value",
                                       f"Give '{name}' a {'/'.join(pd.classes)}", elem.doc, elem.path,
                                       element=elem.label(), prop=name)

    # ------------------------------------------------------------------ extends
    def ancestors(self, iface: Elem, stack: tuple[int, ...] = ()) -> list[Elem] | None:
        """All ancestors nearest first; None on a cycle (reported by check_extends)."""
        out: list[Elem] = []
        seen: set[int] = set()
        frontier = [self.target(x) for x in iface.objects("extends")]
        while frontier:
            nxt: list[Elem] = []
            for e in frontier:
                if not isinstance(e, Elem) or e.cls != "Interface":
                    continue
                if e is iface:
                    return None
                if id(e) in seen:
                    continue
                seen.add(id(e))
                out.append(e)
                nxt.extend(self.target(x) for x in e.objects("extends"))
            frontier = nxt
        return out

    def depth(self, iface: Elem, memo: dict[int, int], active: set[int]) -> int:
        key = id(iface)
        if key in memo:
            return memo[key]
        if key in active:
            return 0
        active.add(key)
        d = 0
        for x in iface.objects("extends"):
            t = self.target(x)
            if isinstance(t, Elem) and t.cls == "Interface":
                d = max(d, 1 + self.depth(t, memo, active))
        active.discard(key)
        memo[key] = d
        return d

    def check_extends(self) -> None:
        memo: dict[int, int] = {}
        for e in self.p.all:
            if e.cls != "Interface":
                continue
            s = e.scope.spec
            anc = self.ancestors(e)
            if anc is None:
                self.err("recursiveStructureNarrow",
                         f"{e.label()} extends itself (directly or through other Interfaces)",
                         "Remove the 'extends' entry that closes the cycle", e,
                         e.prop_paths.get("extends"), prop="extends")
                continue
            if s.max_extends_total is not None and len(anc) > s.max_extends_total and not e.scope.limitless:
                self.err("objectCountAboveMax", f"{e.label()} has {len(anc)} Interfaces in its extends hierarchy",
                         f"Reduce the hierarchy to at most {s.max_extends_total}", e, e.prop_paths.get("extends"))
            if s.max_extends_depth is not None and not e.scope.limitless:
                d = self.depth(e, memo, set())
                if d > s.max_extends_depth:
                    self.err("excessiveDepthNarrow", f"the extends hierarchy of {e.label()} is {d} levels deep",
                             f"Reduce it to at most {s.max_extends_depth} levels", e, e.prop_paths.get("extends"))
            self.check_inherited_names(e, anc)

    def check_inherited_names(self, e: Elem, anc: list[Elem]) -> None:
        names: dict[str, Elem] = {}
        for owner in [e] + anc:
            for c in owner.objects("contents"):
                if not isinstance(c, Elem):
                    continue
                n = c.props.get("name")
                if not isinstance(n, str):
                    continue
                if n in names and names[n] is not owner:
                    if owner is e or names[n].parent is not owner:
                        self.err("nonUniqueImportedPropertyValue" if owner is not e else "nonUniquePropertyValue",
                                 f"content name '{n}' is used both in {names[n].parent.label() if names[n].parent else '?'}"
                                 f" and in {owner.label()} (inherited through extends)",
                                 f"Rename one of the '{n}' contents", e, c.prop_paths.get("name", c.path), value=n,
                                 prop="contents")
                        return
                names.setdefault(n, c)

    # ------------------------------------------------------------------ within-element uniqueness
    def check_unique_names(self) -> None:
        for e in self.p.all:
            cdef = e.scope.spec.classes[e.cls]
            for name, pd in cdef.props.items():
                if not pd.unique_names:
                    continue
                seen: dict[str, Elem] = {}
                for c in e.objects(name):
                    if not isinstance(c, Elem):
                        continue
                    n = c.props.get("name")
                    if isinstance(n, str):
                        if n in seen and c.tolerant and seen[n].tolerant and c.id is None and seen[n].id is None:
                            continue  # legacy v2 solecism: duplicate names of elements without @id
                        if n in seen:
                            self.err("nonUniquePropertyValue", f"name '{n}' is used twice in '{name}' of {e.label()}",
                                     f"Rename one of the '{n}' entries", c, c.prop_paths.get("name", c.path), value=n,
                                     prop=name)
                        seen[n] = c
            if e.cls == "Enum":
                self.check_enum(e)
            if e.cls == "Interface" and e.scope.spec.max_contents is not None and not e.scope.limitless:
                pass

    def check_enum(self, e: Elem) -> None:
        vs = e.objects("valueSchema")
        kind = vs[0].name if vs and isinstance(vs[0], Prim) else None
        seen: set[Any] = set()
        for ev in e.objects("enumValues"):
            if not isinstance(ev, Elem) or "enumValue" not in ev.props:
                continue
            val = ev.props["enumValue"]
            if kind == "integer" and not isinstance(val, int) or kind == "string" and not isinstance(val, str):
                self.err("nonConformantDatatype" if False else "incompatibleType",
                         f"enumValue {val!r} is not of the Enum's valueSchema {kind}",
                         f"Change enumValue to a{'n integer' if kind == 'integer' else ' string'}", ev,
                         ev.prop_paths.get("enumValue"), value=val, prop="enumValue")
            key = (type(val).__name__, val)
            if key in seen:
                self.err("nonUniquePropertyValue", f"enumValue {val!r} is used twice in {e.label()}",
                         "Give every enum value a distinct enumValue", ev, ev.prop_paths.get("enumValue"), value=val,
                         prop="enumValue")
            seen.add(key)

    # ------------------------------------------------------------------ schemas
    def schema_children(self, e: Elem) -> list[Any]:
        out: list[Any] = []
        if e.cls == "Array":
            out += e.objects("elementSchema")
        elif e.cls == "Map":
            for mv in e.objects("mapValue"):
                if isinstance(mv, Elem):
                    out += mv.objects("schema")
        elif e.cls == "Object":
            for f in e.objects("fields"):
                if isinstance(f, Elem):
                    out += f.objects("schema")
        return out

    def check_schema_structure(self) -> None:
        for e in self.p.all:
            if e.cls not in SCHEMA_CLASSES:
                continue
            s = e.scope.spec
            # recursion
            if self.reaches(e, e, set()):
                self.err("recursiveStructureWide",
                         f"schema {e.label()} contains itself", "Break the self-reference", e)
                continue
            if e.parent is None or e.parent.cls not in SCHEMA_CLASSES + ("Field", "MapValue"):
                d = self.schema_depth(e, 0)
                if d > s.max_schema_depth and not e.scope.limitless:
                    self.err("excessiveDepthWide", f"schema {e.label()} nests complex schemas {d} levels deep",
                             f"Reduce the nesting to at most {s.max_schema_depth} levels", e)

    def reaches(self, start: Elem, goal: Elem, seen: set[int]) -> bool:
        for c in self.schema_children(start):
            t = self.target(c)
            if not isinstance(t, Elem):
                continue
            if t is goal:
                return True
            if id(t) in seen:
                continue
            seen.add(id(t))
            if self.reaches(t, goal, seen):
                return True
        return False

    def schema_depth(self, e: Elem, level: int) -> int:
        if level > 64:
            return level
        best = 1
        for c in self.schema_children(e):
            t = self.target(c)
            if isinstance(t, Elem) and t.cls in SCHEMA_CLASSES:
                best = max(best, 1 + self.schema_depth(t, level + 1))
        return best

    # ------------------------------------------------------------------ components & properties
    def check_components(self) -> None:
        for e in self.p.all:
            if e.cls != "Component":
                continue
            for item in e.objects("schema"):
                t = self.target(item)
                if not isinstance(t, Elem) or t.cls != "Interface":
                    continue
                anc = self.ancestors(t) or []
                for owner in [t] + anc:
                    if any(isinstance(c, Elem) and c.cls == "Component" for c in owner.objects("contents")):
                        if e.scope.version <= 3:
                            self.err("disallowedType" if False else "excludedType",
                                     f"component '{e.props.get('name')}' uses {t.label()}, which itself has Components",
                                     "Use an Interface without Components as a component schema", e,
                                     e.prop_paths.get("schema"), prop="schema")
                        break
        # v2: Property schemas must not contain Arrays
        for e in self.p.all:
            if e.cls == "Property" and e.scope.version == 2 and (e.parent is None or e.parent.cls == "Interface"):
                if self.contains_class(e.objects("schema"), "Array", set()) or any(
                        isinstance(x, Prim) and x.name in GEOSPATIAL for x in e.objects("schema")):
                    self.err("excludedType", f"Property {e.label()} uses an Array schema, not allowed in DTDL v2",
                             "Use a Telemetry, or a Map/Object instead of an Array", e, e.prop_paths.get("schema"),
                             prop="schema")

    def contains_class(self, items: list[Any], cls: str, seen: set[int]) -> bool:
        for item in items:
            t = self.target(item)
            if not isinstance(t, Elem) or id(t) in seen:
                continue
            seen.add(id(t))
            if t.cls == cls:
                return True
            if self.contains_class(self.schema_children(t), cls, seen):
                return True
        return False

    def check_relationship_targets(self) -> None:
        if not self.p.opt.resolve_relationship_targets:
            return
        for e in self.p.all:
            if e.cls != "Relationship":
                continue
            target = e.props.get("target")
            if isinstance(target, str):
                t = self.by_id.get(target)
                if t is None or t.cls != "Interface":
                    self.err("dtmi:dtdl:resolutionError:missingDependency",
                             f"relationship '{e.props.get('name')}' targets {target}, which is not an Interface of the set",
                             f"Add the Interface {target} to the documents or correct 'target'", e,
                             e.prop_paths.get("target"), value=target, prop="target")

    def run_checks(self) -> None:
        self.check_references()
        self.check_unique_names()
        self.check_extends()
        self.check_schema_structure()
        self.check_components()
        self.check_relationship_targets()

    # ------------------------------------------------------------------ model construction
    def build(self) -> ModelSet:
        schemas: dict[str, Schema] = {}
        interfaces: dict[str, Interface] = {}
        for e in self.p.all:
            if e.cls in SCHEMA_CLASSES and e.id:
                sch = self.schema_of(e)
                if sch is not None:
                    schemas[e.id] = sch
        own: dict[str, dict[str, Content]] = {}
        iface_elems = [e for e in self.p.all if e.cls == "Interface" and e.id]
        for e in iface_elems:
            own[e.id] = {c.props["name"]: self.content_of(c, e.id) for c in e.objects("contents")
                         if isinstance(c, Elem) and isinstance(c.props.get("name"), str)}
        for e in iface_elems:
            anc = self.ancestors(e) or []
            anc_ids = tuple(a.id for a in anc if a.id)
            merged: dict[str, Content] = {}
            for a in reversed(anc_ids):
                merged.update(own.get(a, {}))
            merged.update(own[e.id])
            ext_ids = tuple(x.dtmi if isinstance(x, Ref) else x.id for x in e.objects("extends")
                            if isinstance(x, (Ref, Elem)) and (isinstance(x, Ref) or x.id))
            interfaces[e.id] = Interface(
                dtmi=e.id, extends=ext_ids, ancestors=anc_ids,
                own_contents=MappingProxyType(own[e.id]), contents=MappingProxyType(merged),
                display_name=MappingProxyType(e.props.get("displayName") or {}),
                description=MappingProxyType(e.props.get("description") or {}),
                comment=e.props.get("comment"), source=e.raw, context_version=e.scope.version,
                extensions=tuple(c for c in e.scope.contexts if not c.startswith("dtmi:dtdl:context;")),
                schemas=tuple(x.id for x in e.objects("schemas") if isinstance(x, Elem) and x.id),
                document=e.doc,
            )
        return ModelSet(interfaces=MappingProxyType(interfaces), schemas=MappingProxyType(schemas))

    def schema_ref(self, items: list[Any]) -> Schema | None:
        for item in items:
            if isinstance(item, Prim):
                return Schema(kind=item.name)
            t = self.target(item)
            if isinstance(t, Elem):
                return self.schema_of(t)
        return None

    def schema_of(self, e: Elem, depth: int = 0) -> Schema | None:
        if id(e) in self._schema_cache:
            return self._schema_cache[id(e)]
        if depth > 32:
            return Schema(kind=e.cls, id=e.id)
        self._schema_cache[id(e)] = Schema(kind=e.cls, id=e.id)  # placeholder against cycles
        dn = MappingProxyType(e.props.get("displayName") or {})
        ds = MappingProxyType(e.props.get("description") or {})
        result: Schema | None
        if e.cls == "Array":
            result = Schema("Array", e.id, element_schema=self.schema_ref(e.objects("elementSchema")),
                            display_name=dn, description=ds)
        elif e.cls == "Enum":
            vals = {ev.props.get("name"): ev.props.get("enumValue") for ev in e.objects("enumValues")
                    if isinstance(ev, Elem)}
            result = Schema("Enum", e.id, value_schema=self.schema_ref(e.objects("valueSchema")),
                            enum_values=MappingProxyType(vals), display_name=dn, description=ds)
        elif e.cls == "Map":
            mk = next((x for x in e.objects("mapKey") if isinstance(x, Elem)), None)
            mv = next((x for x in e.objects("mapValue") if isinstance(x, Elem)), None)
            result = Schema("Map", e.id,
                            map_key=self.named(mk) if mk else None, map_value=self.named(mv) if mv else None,
                            display_name=dn, description=ds)
        elif e.cls == "Object":
            fields = {f.props.get("name"): self.schema_ref(f.objects("schema")) for f in e.objects("fields")
                      if isinstance(f, Elem)}
            result = Schema("Object", e.id, fields=MappingProxyType(fields), display_name=dn, description=ds)
        else:
            result = None
        self._schema_cache[id(e)] = result
        return result

    def named(self, e: Elem) -> NamedSchema:
        sem = tuple(c for c in e.cotypes if c in e.scope.spec.semantic_types)
        return NamedSchema(name=str(e.props.get("name")), schema=self.schema_ref(e.objects("schema")),
                           display_name=MappingProxyType(e.props.get("displayName") or {}),
                           description=MappingProxyType(e.props.get("description") or {}),
                           semantic_types=sem, unit=e.props.get("unit"), nullable=bool(e.props.get("nullable")))

    def content_of(self, c: Elem, owner: str | None) -> Content:
        sem = tuple(x for x in c.cotypes if x in c.scope.spec.semantic_types)
        kw: dict[str, Any] = {}
        if c.cls == "Relationship":
            props = {p.props["name"]: self.content_of(p, owner) for p in c.objects("properties")
                     if isinstance(p, Elem) and isinstance(p.props.get("name"), str)}
            kw.update(target=c.props.get("target"), min_multiplicity=c.props.get("minMultiplicity"),
                      max_multiplicity=c.props.get("maxMultiplicity"), properties=MappingProxyType(props))
        elif c.cls == "Component":
            sd = next((x.dtmi if isinstance(x, Ref) else x.id for x in c.objects("schema")
                       if isinstance(x, (Ref, Elem))), None)
            kw["schema_dtmi"] = sd
        elif c.cls == "Command":
            rq = next((x for x in c.objects("request") if isinstance(x, Elem)), None)
            rs = next((x for x in c.objects("response") if isinstance(x, Elem)), None)
            kw.update(request=self.named(rq) if rq else None, response=self.named(rs) if rs else None,
                      command_type=c.props.get("commandType"))
        schema = self.schema_ref(c.objects("schema")) if c.cls in ("Property", "Telemetry") else None
        return Content(kind=c.cls, name=str(c.props.get("name")), id=c.id, schema=schema, semantic_types=sem,
                       unit=c.props.get("unit"), writable=bool(c.props.get("writable")),
                       display_name=MappingProxyType(c.props.get("displayName") or {}),
                       description=MappingProxyType(c.props.get("description") or {}),
                       comment=c.props.get("comment"), co_types=tuple(c.cotypes), defined_in=owner, **kw)
