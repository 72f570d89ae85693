"""The simbench grids the models learn on, as the simulator builds them: our importer, then power-grid-model.

Cached per process: importing a grid and reading its profile year takes seconds, and every job
of a training run uses the same few grids.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from physics.network import Network


@cache
def grid_network(code: str) -> tuple[Network, Any]:
    """The simbench grid as our importer and PGM converter build it, and its absolute profiles."""
    import simbench

    from loaders.grids.pgm import to_power_grid_model
    from loaders.grids.sources import load_grid

    pgm = to_power_grid_model(load_grid(f"simbench:{code}"))
    network = Network.from_pgm(pgm.data, pgm.extra_info, pgm.net)
    profiles = simbench.get_absolute_values(simbench.get_simbench_net(code), True)
    return network, profiles


def substation_node(network: Network) -> int:
    """Position of the node on the low-voltage side of the source's transformer (or the source node)."""
    nodes = network.input_data["node"]
    source_node = int(network.input_data["source"]["node"][0])
    transformers = network.input_data.get("transformer")
    if transformers is not None and len(transformers):
        on_source = transformers[transformers["from_node"] == source_node]
        if len(on_source):
            source_node = int(on_source["to_node"][0])
    return int(np.flatnonzero(nodes["id"] == source_node)[0])


def profile_tables(profiles: Any) -> dict[tuple[str, str], Any]:
    """The absolute profile tables the simulator applies (loads, generators, storage with elements)."""
    return {key: table for key, table in profiles.items() if key[0] in ("load", "sgen", "storage") and len(table.columns)}


#: What a profile year's power flow keeps: enough for losses, loading and the substation's measurements.
YEAR_BRANCHES = ("line", "link", "transformer", "generic_branch")
YEAR_OUTPUTS = {name: ["p_from", "p_to", "loading"] for name in YEAR_BRANCHES} | {"node": ["u_pu"], "source": ["p", "q"]}


@cache
def year_flow(code: str) -> Any:
    """The grid's whole profile year in one power-grid-model batch (Newton-Raphson): a TimeSeriesResult."""
    from physics.timeseries import StepInputs, apply_profiles, run_time_series

    network, profiles = grid_network(code)
    tables = profile_tables(profiles)
    inputs = StepInputs(network, min(len(table) for table in tables.values()))
    apply_profiles(inputs, tables)
    return run_time_series(inputs, outputs=YEAR_OUTPUTS)


def held_profile_inputs(network: Network, profiles: Any, first_quarter: int, seconds: int,
                        quarter_s: int = 900) -> Any:
    """``seconds`` one-second steps from profile quarter-hour ``first_quarter``, each quarter-hour's value held,
    as the real-time simulator holds them (a ``physics.timeseries.StepInputs``)."""
    from physics.timeseries import StepInputs, apply_profiles

    quarters = StepInputs(network, -(-seconds // quarter_s))
    apply_profiles(quarters, profile_tables(profiles), start=first_quarter)
    inputs = StepInputs(network, seconds)
    inputs.columns = {component: {name: np.repeat(values, quarter_s, axis=0)[:seconds]
                                  for name, values in attributes.items()}
                      for component, attributes in quarters.columns.items()}
    return inputs

