"""State-estimation cases: a grid, true power flows and the noisy measurements every estimator is given.

Per sample (a random quarter-hour of the grid's profile year) each load and generator draws
its profile value times an independent factor uniform in [1 − spread, 1 + spread]: that is
the truth, solved by power-grid-model's Newton-Raphson.  What the estimators see is what a
control room has: the profile value itself as a pseudo-measurement of every load and
generator (off by up to ±spread), and voltage magnitudes at a fixed set of measured buses
(always the substation, plus a seeded fraction of the rest) with Gaussian noise of
``noise`` (relative).  The upstream grid's voltage varies per sample and is not told to
anyone: the level must come from the measurements.  The same case goes to power-grid-model's WLS estimator and to the GNN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.data.grids import grid_network, profile_tables, substation_node
from physics.network import Network
from physics.timeseries import StepInputs, apply_profiles, run_time_series

APPLIANCES = ("sym_load", "sym_gen")


@dataclass(frozen=True)
class CaseSettings:
    """What is measured and how well; the defaults are the issue's reference setting."""

    measured_fraction: float = 0.2
    noise: float = 0.005
    pseudo_spread: float = 0.2
    samples: int = 400
    seed: int = 0
    #: The source (the upstream grid) holds a voltage uniform in this range, unknown to every estimator.
    source_pu: tuple[float, float] = (0.99, 1.05)


@dataclass
class SeCase:
    """One grid's samples: truth, pseudo-measurements and voltage measurements, node order = PGM input order."""

    code: str
    network: Network
    settings: CaseSettings
    measured: np.ndarray          # node positions with a voltage sensor; [0] is the substation
    true_u_pu: np.ndarray         # (samples, nodes)
    u_measured_pu: np.ndarray     # (samples, measured)
    pseudo: dict[str, tuple[np.ndarray, np.ndarray]]  # appliance -> (P, Q) in W / var, (samples, n)
    steps: np.ndarray             # profile steps the samples were taken at

    @property
    def nodes(self) -> int:
        return len(self.network.input_data["node"])

    @property
    def samples(self) -> int:
        return len(self.true_u_pu)

    def subset(self, rows: np.ndarray) -> SeCase:
        """The same grid and sensors with only some samples (train / test split by sample)."""
        return SeCase(self.code, self.network, self.settings, self.measured, self.true_u_pu[rows],
                      self.u_measured_pu[rows], {k: (p[rows], q[rows]) for k, (p, q) in self.pseudo.items()},
                      self.steps[rows])


def choose_measured(network: Network, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """The substation's node and a random ``fraction`` of all nodes (at least one more) below it.

    Buses upstream of the substation (the source's own voltage level) are not candidates: the
    grid operator does not own sensors there, and power-grid-model's estimator finds a voltage
    sensor on the source's node singular.
    """
    first = substation_node(network)
    rated = network.input_data["node"]["u_rated"]
    candidates = np.setdiff1d(np.flatnonzero(rated <= rated[first]), [first])
    count = max(1, int(round(fraction * len(rated))) - 1)
    chosen = rng.choice(candidates, size=min(count, len(candidates)), replace=False)
    return np.concatenate([[first], np.sort(chosen)])


def _profile_rows(profiles: Any, steps: np.ndarray) -> dict[tuple[str, str], Any]:
    return {key: table.iloc[steps].reset_index(drop=True) for key, table in profile_tables(profiles).items()}


def build_case(code: str, settings: CaseSettings = CaseSettings()) -> SeCase:
    """Truth by Newton-Raphson, pseudo-measurements and noisy voltages for ``settings.samples`` samples."""
    network, profiles = grid_network(code)
    rng = np.random.default_rng([settings.seed, sum(code.encode())])
    year = min(len(table) for table in profiles.values() if len(table.columns))
    steps = np.sort(rng.choice(year, size=settings.samples, replace=False))
    inputs = StepInputs(network, settings.samples)
    apply_profiles(inputs, _profile_rows(profiles, steps))
    pseudo = {}
    for appliance in APPLIANCES:
        if appliance not in network.input_data or not len(network.input_data[appliance]):
            continue
        p, q = inputs.column(appliance, "p_specified"), inputs.column(appliance, "q_specified")
        pseudo[appliance] = (p.copy(), q.copy())
        factor = rng.uniform(1 - settings.pseudo_spread, 1 + settings.pseudo_spread, size=p.shape)
        p *= factor
        q *= factor
    inputs.column("source", "u_ref")[:] = rng.uniform(*settings.source_pu, size=(settings.samples, 1))
    result = run_time_series(inputs, outputs={"node": ["u_pu"]})
    ok = np.setdiff1d(np.arange(settings.samples), result.failed_steps)
    true_u = result.values("node", "u_pu")
    measured = choose_measured(network, settings.measured_fraction, rng)
    noisy = true_u[:, measured] * (1 + rng.normal(0.0, settings.noise, size=(settings.samples, len(measured))))
    case = SeCase(code, network, settings, measured, true_u, noisy, pseudo, steps)
    return case.subset(ok)
