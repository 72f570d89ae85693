"""power-grid-model input arrays of a grid document, through power-grid-model-io's pandapower converter.

The document is first built into a pandapower net (:func:`to_pandapower`), so switch states,
service states and taps are honoured exactly as for pandapower; power-grid-model-io then
maps the tables to PGM components (node, line, transformer, three_winding_transformer,
link for bus-bus switches, sym/asym load and gen, shunt, source).  Where the engines differ
(see docs/models.md, "Engines"):

- PGM has no voltage-controlled generator and no HVDC link: a grid with ``gen``
  (SynchronousMachine) or ``dcline`` (DCLine) twins in service is refused with a clear error
  instead of being solved differently.
- PGM models a transformer's tap as a voltage ratio on one side like pandapower, but it
  has no tap-changer-less transformer with an empty tap side; such transformers get a
  neutral, zero-step tap (no electrical effect) so the converter accepts them.
- PGM uses the pi model for transformers, pandapower the T model by default; the
  difference is within 1e-3 p.u. on the test grids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loaders.grids.document import GridDocument, GridSourceError
from loaders.grids.to_pandapower import to_pandapower


#: Short-circuit power given to PGM sources in a balanced calculation, to match pandapower's ideal slack.
IDEAL_SOURCE_VA = 1e15


@dataclass
class PgmInput:
    """PGM input arrays and, per PGM id, the pandapower table/index it came from."""

    data: dict[Any, Any]
    extra_info: dict[int, Any]
    net: Any

    def node_ids_of_buses(self) -> dict[int, int]:
        """pandapower bus index -> PGM node id (to compare results)."""
        return {ref["index"]: pgm_id for pgm_id, info in self.extra_info.items()
                if (ref := info.get("id_reference", {})).get("table") == "bus"}


#: Object columns the converter reads without a usable default: pandapower's own default filled in.
_OBJECT_DEFAULTS = {("load", "type"): "wye", ("asymmetric_load", "type"): "wye", ("asymmetric_sgen", "type"): "wye",
                    ("sgen", "type"): "", ("storage", "type"): ""}


def _tables(net: Any) -> dict[str, Any]:
    """The element tables as the converter wants them, adjusted where it cannot read pandapower's own data."""
    tables = {name: net[name].copy() for name in net.keys()
              if not name.startswith(("res_", "_")) and hasattr(net[name], "columns")}
    for name in ("trafo", "trafo3w"):
        trafo = tables.get(name)
        if trafo is None or trafo.empty:
            continue
        no_tap = trafo["tap_side"].isna()
        if no_tap.any():
            trafo["tap_side"] = trafo["tap_side"].astype(object)
            trafo.loc[no_tap, "tap_side"] = "hv"
            trafo.loc[no_tap, ["tap_pos", "tap_neutral", "tap_min", "tap_max", "tap_step_percent"]] = 0.0
    _storage_as_loads(tables)
    for (name, column), value in _OBJECT_DEFAULTS.items():
        if name in tables and column in tables[name]:
            tables[name][column] = [value if cell is None or cell != cell else cell for cell in tables[name][column]]
    for name in ("line", "bus", "trafo", "trafo3w", "load", "sgen", "switch", "ext_grid", "shunt",
                 "asymmetric_load", "asymmetric_sgen", "storage"):
        if name in tables and "twin_id" in tables[name]:
            tables[name] = tables[name].drop(columns="twin_id")
    return tables


def _storage_as_loads(tables: dict[str, Any]) -> None:
    """pandapower's power flow treats a storage as a constant-power load; PGM-IO has no storage, so it becomes one."""
    import pandas as pd

    storage = tables.get("storage")
    if storage is None or storage.empty:
        return
    tables["storage"] = storage.iloc[0:0]
    load = tables["load"]
    start = int(load.index.max()) + 1 if len(load) else 0
    extra = pd.DataFrame({"name": storage["name"].to_numpy(), "bus": storage["bus"].to_numpy(),
                          "p_mw": storage["p_mw"].to_numpy(), "q_mvar": storage["q_mvar"].to_numpy(),
                          "const_z_p_percent": 0.0, "const_i_p_percent": 0.0, "const_z_q_percent": 0.0,
                          "const_i_q_percent": 0.0, "sn_mva": storage["sn_mva"].to_numpy(),
                          "scaling": storage["scaling"].to_numpy(), "in_service": storage["in_service"].to_numpy(),
                          "type": "wye"}, index=pd.RangeIndex(start, start + len(storage)))
    tables["load"] = pd.concat([load, extra]) if len(load) else extra


def to_power_grid_model(document: GridDocument, *, symmetric: bool = True) -> PgmInput:
    """PGM input data for a symmetric or asymmetric power flow of the document's grid.

    ``symmetric`` only checks what the asymmetric calculation needs (zero-sequence data,
    which the importer fills as ``assumed`` when a source lacks it): the arrays are the same.
    """
    from power_grid_model.validation import validate_input_data
    from power_grid_model_io.converters import PandaPowerConverter

    net = to_pandapower(document)
    if len(net.gen) and net.gen.in_service.any():
        raise GridSourceError(f"grid {document.grid_id!r}", "gen",
                              "power-grid-model has no voltage-controlled (PV) generators; use pandapower for this grid")
    if len(net.dcline) and net.dcline.in_service.any():
        raise GridSourceError(f"grid {document.grid_id!r}", "dcline",
                              "power-grid-model has no HVDC links (DCLine); use pandapower for this grid")
    converter = PandaPowerConverter(system_frequency=float(net.f_hz))
    data, extra_info = converter.load_input_data(_tables(net), make_extra_info=True)
    if symmetric:
        data["source"]["sk"] = IDEAL_SOURCE_VA  # pandapower's balanced slack has no internal impedance
    errors = validate_input_data(data, symmetric=symmetric)
    if errors:
        raise GridSourceError(f"grid {document.grid_id!r}", None, f"power-grid-model refuses the input: {errors[0]}")
    return PgmInput(data, extra_info, net)


def run_power_flow(pgm: PgmInput, *, symmetric: bool = True) -> Any:
    """PGM's Newton-Raphson power flow on the input; the output arrays."""
    from power_grid_model import PowerGridModel

    return PowerGridModel(pgm.data).calculate_power_flow(symmetric=symmetric, error_tolerance=1e-10,
                                                         max_iterations=50)
