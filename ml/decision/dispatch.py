"""Dispatch advice: a day's schedule for the grid's batteries and PV curtailment, as a linear program.

Not a regression: the schedule is the optimum of an LP (SciPy's HiGHS) over 96 quarter-hours.
Decision variables per step: battery charge and discharge (MW, within the grid's storage power),
PV curtailment (MW, within what the PV produces), the import through the substation transformer
(MW, free in sign) and the state of charge (MWh, within the storage's energy, back to half full at
midnight).  Constraints: power balance (import = demand − PV + curtailment + charge − discharge),
state of charge with 95 % one-way efficiency, and the network's limit: |import| within the
transformer's rating less a margin for reactive power and losses.  Objective: energy cost at the
day's price plus what curtailed PV is paid.  Every schedule is then checked by a power flow of the
grid (power-grid-model): the batteries as loads at their own buses, curtailment taken from the PV
units in proportion.

Baseline, "merit order without network": charge in the cheapest quarter-hours and discharge in the
dearest until the storage is full and empty again, ignoring the transformer; it is cheaper exactly
where it overloads the transformer.  Prices: simbench has none, so the price is a documented
stand-in shaped like a day-ahead market with solar (80 €/MWh base, +40 in the evening peak, −45 at
midday), curtailment compensated at 60 €/MWh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.data.grids import grid_network, profile_tables
from physics.timeseries import StepInputs, apply_profiles, run_time_series

STEPS = 96
HOURS = 0.25
EFFICIENCY = 0.95
CURTAILMENT_EUR_MWH = 60.0
#: Share of the transformer's rating the schedule may use as active power (reactive power and losses).
RATING_MARGIN = 0.9


@dataclass(frozen=True)
class DispatchDay:
    code: str
    day: int
    demand_mw: np.ndarray
    pv_mw: np.ndarray
    price_eur_mwh: np.ndarray
    limit_mw: float
    battery_mw: float
    battery_mwh: float


@dataclass(frozen=True)
class Schedule:
    charge_mw: np.ndarray
    discharge_mw: np.ndarray
    curtail_mw: np.ndarray
    import_mw: np.ndarray

    def cost_eur(self, day: DispatchDay) -> float:
        return float((day.price_eur_mwh * self.import_mw).sum() * HOURS
                     + CURTAILMENT_EUR_MWH * self.curtail_mw.sum() * HOURS)


def price(steps: int = STEPS) -> np.ndarray:
    """The stand-in price per quarter-hour (€/MWh): evening peak, midday solar dip."""
    hour = np.arange(steps) * HOURS
    return 80.0 + 40.0 * np.exp(-((hour - 19.0) / 2.0) ** 2) - 45.0 * np.exp(-((hour - 13.0) / 2.5) ** 2)


def day_data(code: str, day: int) -> DispatchDay:
    """A day of the grid's profiles: total demand, total PV, the transformer's rating and the storage's size."""
    network, profiles = grid_network(code)
    tables = profile_tables(profiles)
    rows = slice(day * STEPS, (day + 1) * STEPS)
    demand = tables[("load", "p_mw")].iloc[rows].sum(axis=1).to_numpy()
    pv = tables[("sgen", "p_mw")].iloc[rows].sum(axis=1).to_numpy() if ("sgen", "p_mw") in tables else np.zeros(STEPS)
    net = network.net
    return DispatchDay(code, day, demand, pv, price(), float(net.trafo.sn_mva.sum()) * RATING_MARGIN,
                       float(net.storage.sn_mva.sum()), float(net.storage.max_e_mwh.sum()))


def optimise(day: DispatchDay) -> Schedule:
    """The LP's optimum; a ValueError naming the day when no schedule keeps the transformer within its rating."""
    from scipy.optimize import linprog
    from scipy.sparse import eye, hstack, vstack, diags

    n = STEPS
    zero = eye(n, format="csr") * 0
    identity = eye(n, format="csr")
    # z = [charge, discharge, curtail, import, soc]
    balance = hstack([-identity, identity, -identity, identity, zero])  # import - charge + discharge - curtail = D - PV
    soc_step = identity - diags([np.ones(n - 1)], [-1], shape=(n, n))
    soc = hstack([-EFFICIENCY * HOURS * identity, HOURS / EFFICIENCY * identity, zero, zero, soc_step])
    half = day.battery_mwh / 2
    soc_rhs = np.zeros(n)
    soc_rhs[0] = half
    cost = np.concatenate([np.zeros(2 * n), np.full(n, CURTAILMENT_EUR_MWH * HOURS), day.price_eur_mwh * HOURS,
                           np.zeros(n)])
    bounds = ([(0, day.battery_mw)] * (2 * n) + [(0, float(p)) for p in day.pv_mw]
              + [(-day.limit_mw, day.limit_mw)] * n + [(0, day.battery_mwh)] * (n - 1) + [(half, half)])
    result = linprog(cost, A_eq=vstack([balance, soc]).tocsr(), b_eq=np.concatenate([day.demand_mw - day.pv_mw, soc_rhs]),
                     bounds=bounds, method="highs")
    if result.status != 0:
        raise ValueError(f"{day.code} day {day.day}: no schedule within the transformer's rating ({result.message})")
    z = result.x
    return Schedule(z[:n], z[n:2 * n], z[2 * n:3 * n], z[3 * n:4 * n])


def merit_order(day: DispatchDay) -> Schedule:
    """The baseline: full charge in the cheapest quarter-hours, full discharge in the dearest, no network."""
    order = np.argsort(day.price_eur_mwh)
    hours_to_fill = int(np.floor(day.battery_mwh / 2 / (day.battery_mw * HOURS * EFFICIENCY)))
    charge, discharge = np.zeros(STEPS), np.zeros(STEPS)
    charge[order[:hours_to_fill]] = day.battery_mw
    discharge[order[::-1][:hours_to_fill]] = day.battery_mw * EFFICIENCY ** 2  # back to half full at midnight
    return Schedule(charge, discharge, np.zeros(STEPS), day.demand_mw - day.pv_mw + charge - discharge)


def transformer_loading(day: DispatchDay, schedule: Schedule) -> np.ndarray:
    """Per step, the substation transformers' highest loading in a power flow of the grid under the schedule.

    The grid's storage units are loads in its power-grid-model network (``loaders.grids.pgm``); each
    takes the schedule's battery power in proportion to its rating, the PV units give up the curtailed
    share of their output.
    """
    network, profiles = grid_network(day.code)
    inputs = StepInputs(network, STEPS)
    tables = {key: table for key, table in profile_tables(profiles).items() if key[0] != "storage"}
    apply_profiles(inputs, tables, start=day.day * STEPS)
    pv_left = np.divide(day.pv_mw - schedule.curtail_mw, day.pv_mw, out=np.ones(STEPS), where=day.pv_mw > 0)
    if "sym_gen" in network.input_data:
        for attribute in ("p_specified", "q_specified"):
            inputs.column("sym_gen", attribute)[:] *= pv_left[:, None]
    ratings = network.net.storage.sn_mva
    battery_w = (schedule.charge_mw - schedule.discharge_mw) * 1e6
    for index, rating in ratings.items():
        for pgm_id in network.pgm_ids(f"storage/{index}"):  # a constant power, impedance and current part each
            position = network.positions("sym_load", [pgm_id])[0]
            share = rating / ratings.sum() if network.parts.get(pgm_id, "const_power") == "const_power" else 0.0
            inputs.column("sym_load", "p_specified")[:, position] = battery_w * share
            inputs.column("sym_load", "q_specified")[:, position] = 0.0
    result = run_time_series(inputs, outputs={"transformer": ["loading"]})
    return result.output["transformer"]["loading"].max(axis=1)
