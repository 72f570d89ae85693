"""One grid as the engines see it: power-grid-model input arrays, named elements, and the topology.

The engine takes plain inputs so it stands below the loaders: PGM input arrays (as
``loaders.grids.pgm.to_power_grid_model`` or power-grid-model-io make them), power-grid-model-io's
``extra_info`` (which pandapower table and index each PGM id came from) and, optionally, the
pandapower net itself (short circuits, harmonics and generator types read it).

Elements are named by a **key** ``"<pandapower table>/<index>"`` (``"line/12"``, ``"load/3"``):
scenarios aim at keys and ground-truth events name keys, whatever PGM numbered them.  One
pandapower element can be several PGM components (power-grid-model-io splits a load into its
constant power, impedance and current parts), so a key maps to a list of PGM ids.  Where the net
carries ``twin_id`` columns (a net built from the twin graph), :attr:`Network.twin_ids` maps keys to
twins, so a caller can label events with twin ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: PGM branch components and the attributes that open them (both ends for two-winding branches).
BRANCH_STATUS = {"line": ("from_status", "to_status"), "link": ("from_status", "to_status"),
                 "transformer": ("from_status", "to_status"), "generic_branch": ("from_status", "to_status"),
                 "asym_line": ("from_status", "to_status")}
LOADS = ("sym_load", "asym_load")
GENERATORS = ("sym_gen", "asym_gen")


class PhysicsInputError(ValueError):
    """An input the engine cannot compute with; the message names the field and what is wrong."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field_name = field_name
        super().__init__(f"{field_name}: {message}")


def _storage_key(index: int, net: Any) -> str | None:
    """The storage a PGM load stands for: ``loaders.grids.pgm`` appends storages after the last load index."""
    if net is None or index in set(net.load.index) or not len(getattr(net, "storage", ())):
        return None
    start = int(net.load.index.max()) + 1 if len(net.load) else 0
    position = index - start
    return f"storage/{net.storage.index[position]}" if 0 <= position < len(net.storage) else None


def _keys_from(extra_info: Mapping[int, Any], net: Any) -> tuple[dict[int, str], dict[int, str]]:
    keys: dict[int, str] = {}
    parts: dict[int, str] = {}
    for pgm_id, info in extra_info.items():
        reference = info.get("id_reference", {}) if isinstance(info, Mapping) else {}
        table, index = reference.get("table"), reference.get("index")
        if table is None or index is None:
            continue
        key = (_storage_key(int(index), net) if table == "load" else None) or f"{table}/{index}"
        keys[int(pgm_id)] = key
        if "name" in reference:
            parts[int(pgm_id)] = str(reference["name"])
    return keys, parts


def _twin_ids(net: Any, keys: Iterable[str]) -> dict[str, str]:
    twins: dict[str, str] = {}
    if net is None:
        return twins
    for key in keys:
        table, _, index = key.partition("/")
        frame = net[table] if table in net else None
        if frame is not None and "twin_id" in frame and index.lstrip("-").isdigit() and int(index) in frame.index:
            value = frame.at[int(index), "twin_id"]
            if isinstance(value, str) and value:
                twins[key] = value
    return twins


@dataclass
class Network:
    """PGM input arrays plus what names them; build it with :meth:`from_pgm`."""

    input_data: dict[str, np.ndarray]
    keys: dict[int, str] = field(default_factory=dict)
    parts: dict[int, str] = field(default_factory=dict)
    f_hz: float = 50.0
    net: Any = None
    twin_ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_pgm(cls, input_data: Mapping[Any, np.ndarray], extra_info: Mapping[int, Any] | None = None,
                 net: Any = None, *, f_hz: float | None = None) -> Network:
        """The network of PGM input arrays; ``extra_info`` and ``net`` name the elements when given."""
        data = {str(getattr(name, "value", name)): array for name, array in input_data.items()}
        if "node" not in data or not len(data["node"]):
            raise PhysicsInputError("input_data.node", "the network has no nodes")
        if "source" not in data or not len(data["source"]):
            raise PhysicsInputError("input_data.source", "the network has no source (slack): nothing sets the voltage")
        keys, parts = _keys_from(extra_info or {}, net)
        for component, array in data.items():  # ids without a pandapower origin are named by PGM id
            for pgm_id in array["id"]:
                keys.setdefault(int(pgm_id), f"{component}/{int(pgm_id)}")
        frequency = f_hz if f_hz is not None else float(getattr(net, "f_hz", 50.0) if net is not None else 50.0)
        return cls(data, keys, parts, frequency, net, _twin_ids(net, set(keys.values())))

    def __post_init__(self) -> None:
        self._by_key: dict[str, list[int]] = {}
        for pgm_id, key in self.keys.items():
            self._by_key.setdefault(key, []).append(pgm_id)
        self._component_of = {int(i): c for c, array in self.input_data.items() for i in array["id"]}
        self._rows = {c: {int(i): k for k, i in enumerate(array["id"])} for c, array in self.input_data.items()}

    def pgm_ids(self, key: str) -> list[int]:
        """The PGM ids of an element key; an error naming the key when the grid has no such element."""
        if key not in self._by_key:
            raise PhysicsInputError("element", f"{key!r} is not an element of this grid")
        return self._by_key[key]

    def component_of(self, pgm_id: int) -> str:
        """The PGM component type holding an id."""
        return self._component_of[int(pgm_id)]

    def element_keys(self, table: str) -> list[str]:
        """Keys of one pandapower table (``"line"``, ``"load"`` ...), sorted by index."""
        found = {key for key in self._by_key if key.partition("/")[0] == table}
        return sorted(found, key=lambda key: int(key.partition("/")[2]) if key.partition("/")[2].isdigit() else 0)

    def positions(self, component: str, ids: Iterable[int]) -> np.ndarray:
        """Row positions of PGM ids in the component's input array (the columns of a batch update)."""
        index = self._rows[component]
        return np.array([index[int(i)] for i in ids], dtype=np.int64)

    def element_type(self, key: str) -> str:
        """The source's ``type`` text of an element (simbench: ``PV_MV``, ``Wind_MV`` ...), or ''."""
        table, _, index = key.partition("/")
        if self.net is None or table not in self.net or "type" not in self.net[table]:
            return ""
        value = self.net[table].at[int(index), "type"] if int(index) in self.net[table].index else ""
        return value if isinstance(value, str) else ""

    def node_of(self, key: str) -> int:
        """The PGM node an appliance (load, generator, source) is connected to."""
        pgm_id = self.pgm_ids(key)[0]
        component = self.component_of(pgm_id)
        array = self.input_data[component]
        if "node" not in (array.dtype.names or ()):
            raise PhysicsInputError("element", f"{key!r} is a {component}, not an appliance on one node")
        return int(array["node"][self.positions(component, [pgm_id])[0]])

    def bus_node(self, bus: int) -> int:
        """The PGM node of a pandapower bus index."""
        return self.pgm_ids(f"bus/{bus}")[0]

    def asymmetric(self) -> Network:
        """The same network with every sym_load/sym_gen as an asym_load/asym_gen (a third per phase, same ids).

        An unbalance or phase-loss scenario changes one phase of a load, which a symmetric
        appliance cannot express; the asymmetric calculation then gets per-phase updates.
        """
        from power_grid_model import initialize_array

        data = dict(self.input_data)
        for sym, asym in (("sym_load", "asym_load"), ("sym_gen", "asym_gen")):
            source = data.pop(sym, None)
            if source is None or not len(source):
                continue
            converted = initialize_array("input", asym, len(source))
            for name in ("id", "node", "status", "type"):
                converted[name] = source[name]
            converted["p_specified"] = np.repeat(source["p_specified"][:, None] / 3.0, 3, axis=1)
            converted["q_specified"] = np.repeat(source["q_specified"][:, None] / 3.0, 3, axis=1)
            if asym in data and len(data[asym]):
                converted = np.concatenate([data[asym], converted])
            data[asym] = converted
        return Network(data, self.keys, self.parts, self.f_hz, self.net, self.twin_ids)

    def branches(self) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        """(component, ids, from nodes, to nodes) of every two-terminal branch."""
        found = []
        for component in BRANCH_STATUS:
            array = self.input_data.get(component)
            if array is not None and len(array):
                found.append((component, array["id"], array["from_node"], array["to_node"]))
        return found


__all__ = ["BRANCH_STATUS", "GENERATORS", "LOADS", "Network", "PhysicsInputError"]
