"""What a training run uses: which grids, how many samples and seeds; one full plan and one small one.

``FULL`` produces the numbers of docs/ml.md (``gridtwin ml train`` then ``gridtwin ml evaluate``);
``SMALL`` is the same code on a tiny data set that ``make test`` trains in seconds and still
holds every model to its baseline.  Training and evaluation grids of the GNN never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Plan:
    name: str
    #: Grids whose aggregate demand is forecast and evaluated (held-out time blocks).
    load_codes: tuple[str, ...]
    #: More series to train the pooled forecaster on (never evaluated).
    load_training_codes: tuple[str, ...]
    load_estimators: int
    #: Grids whose lines or transformers overload in their profile year (of simbench's LV/MV grids only
    #: 1-LV-rural1, whose transformer passes 100 % in 7 % of the --2-sw and 6.8 % of the --1-sw year).
    overload_codes: tuple[str, ...]
    #: Grids with a transformer whose hot spot passes 120 °C in the year (the same two).
    failure_codes: tuple[str, ...]
    #: Grids where bus voltages leave the ±5 % band in the year (PV of the stressed "--2-sw" scenario).
    voltage_band_codes: tuple[str, ...]
    #: Grids whose loading margin (how far demand can grow before voltage fails) is learnt.
    stability_codes: tuple[str, ...]
    #: Grids with storage and PV beyond the transformer's rating (the stressed "--2-sw" LV grids).
    dispatch_codes: tuple[str, ...]
    se_training_codes: tuple[str, ...]
    se_test_codes: tuple[str, ...]
    se_training_samples: int
    se_test_samples: int
    #: Case seeds: each draws its own sensor placement, profile steps, load deviations and noise.
    training_seeds: tuple[int, ...]
    test_seeds: tuple[int, ...]
    #: LV grids whose loads the demand-response clusters are fitted on, and grids they are scored on.
    cluster_training_codes: tuple[str, ...] = ("1-LV-rural1--0-sw", "1-LV-semiurb4--0-sw", "1-LV-urban6--0-sw")
    cluster_test_codes: tuple[str, ...] = ("1-LV-rural2--0-sw", "1-LV-rural3--0-sw", "1-LV-semiurb5--0-sw")
    #: LV grids whose uneven phase connections the balancing optimiser rotates.
    balancing_codes: tuple[str, ...] = ("1-LV-rural1--0-sw", "1-LV-semiurb4--0-sw", "1-LV-urban6--0-sw")
    #: MV grids (LV grids' few hundred metres of cable almost never fault) of the sag predictor:
    #: the constant baseline comes from the training grids, the score from the test grids.
    sag_training_codes: tuple[str, ...] = ("1-MV-semiurb--0-sw", "1-MV-urban--0-sw", "1-MV-comm--0-sw")
    sag_test_codes: tuple[str, ...] = ("1-MV-rural--0-sw",)
    #: Simulated years per seed; the first only feeds the history.
    sag_years: int = 12
    se_fractions: tuple[float, ...] = (0.2, 0.1, 0.05)
    gnn_epochs: int = 30
    fault_epochs: int = 12
    fault_training_samples: int = 300
    #: Quarter-hours per stressed grid whose loading margin is solved (each a doubling + bisection).
    stability_samples: int = 1000
    threads: int = 2
    notes: dict[str, str] = field(default_factory=dict)

    def for_grid(self, code: str) -> Plan:
        """The plan evaluated on one grid only (``gridtwin ml evaluate --grid``)."""
        return replace(self, load_codes=tuple(c for c in self.load_codes if c == code) or (code,),
                       se_test_codes=(code,))


FULL = Plan(
    name="full",
    load_codes=("1-MV-rural--0-sw", "1-MV-semiurb--0-sw", "1-MV-urban--0-sw", "1-MV-comm--0-sw"),
    load_training_codes=("1-LV-rural1--0-sw", "1-LV-semiurb4--0-sw", "1-LV-urban6--0-sw"),
    load_estimators=500,
    overload_codes=("1-LV-rural1--2-sw", "1-LV-rural1--1-sw"),
    failure_codes=("1-LV-rural1--2-sw", "1-LV-rural1--1-sw"),
    voltage_band_codes=("1-MV-rural--2-sw", "1-MV-semiurb--2-sw", "1-LV-rural2--2-sw", "1-LV-semiurb4--2-sw"),
    stability_codes=("1-MV-rural--2-sw", "1-MV-semiurb--2-sw", "1-LV-rural1--2-sw", "1-LV-semiurb4--2-sw"),
    dispatch_codes=("1-LV-rural1--2-sw", "1-LV-semiurb4--2-sw"),
    se_training_codes=("1-MV-semiurb--0-sw", "1-MV-urban--0-sw", "1-MV-comm--0-sw"),
    se_test_codes=("1-MV-rural--0-sw",),
    se_training_samples=300,
    se_test_samples=400,
    training_seeds=(0, 1, 2),
    test_seeds=(10, 11, 12),
)

SMALL = Plan(
    name="small",
    load_codes=("1-LV-rural1--0-sw",),
    load_training_codes=(),
    load_estimators=150,
    overload_codes=("1-LV-rural1--2-sw",),
    failure_codes=("1-LV-rural1--2-sw",),
    voltage_band_codes=("1-LV-urban6--2-sw",),
    stability_codes=("1-LV-semiurb4--2-sw",),
    dispatch_codes=("1-LV-rural1--2-sw",),
    se_training_codes=("1-LV-semiurb4--0-sw",),
    se_test_codes=("1-LV-rural1--0-sw",),
    se_training_samples=60,
    se_test_samples=60,
    training_seeds=(0, 1, 2),
    test_seeds=(10,),
    cluster_training_codes=("1-LV-semiurb4--0-sw",),
    cluster_test_codes=("1-LV-urban6--0-sw",),
    balancing_codes=("1-LV-rural1--0-sw",),
    sag_training_codes=("1-MV-semiurb--0-sw",),
    se_fractions=(0.2,),
    gnn_epochs=8,
    fault_epochs=20,
    fault_training_samples=200,
    stability_samples=300,
)

PLANS = {plan.name: plan for plan in (FULL, SMALL)}
