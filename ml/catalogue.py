"""The model set: the one list of the 16 models in 4 modules and the GNN, what each learns and from what.

Every other place (the CLI's table, docs/ml.md, the registry's model names, the tests of which
models exist) reads this list.  ``built`` says whether the model is implemented; a model that
is not is listed with its plan and shows as "not built" in every table, never as a number.
"""

from __future__ import annotations

from dataclasses import dataclass

MODULES = ("monitoring", "maintenance", "energy_flow", "decision", "gnn")


@dataclass(frozen=True)
class ModelEntry:
    """One model: registry name ``<module>.<key>``, its task, label source and the baseline it must beat."""

    module: str
    key: str
    task: str
    label: str
    baseline: str
    metric: str
    seed_claim: str
    built: bool = False

    @property
    def name(self) -> str:
        return f"{self.module}.{self.key}"


MODELS: tuple[ModelEntry, ...] = (
    ModelEntry("monitoring", "voltage_anomaly", "voltage anomaly detection per measurement point",
               "simulator ground-truth events (sag and outage windows)", "threshold rule (±10 % of nominal)",
               "PR-AUC, F1", "Isolation Forest, 95 % accuracy", built=True),
    ModelEntry("monitoring", "power_quality_disturbance", "harmonic / power-quality disturbance class",
               "simulator event kind (harmonics, sag, unbalance, none)", "EN 50160 limits as rules (THD > 8 % ...)",
               "macro F1, MCC", "Random Forest + FFT, 90 %", built=True),
    ModelEntry("monitoring", "frequency_forecast", "system frequency minutes ahead",
               "future frequency of the swing-equation model", "persistence", "MAE in mHz", "LSTM, MAE < 0.05 Hz",
               built=True),
    ModelEntry("monitoring", "phase_imbalance", "phase-imbalance severity",
               "worst bus's unbalance factor of the asymmetric power flow (negative/positive sequence)",
               "substation current spread (max − min)/mean, scaled by a fitted factor",
               "MAE in % points", "Decision Tree, 92 %", built=True),
    ModelEntry("maintenance", "equipment_failure_risk", "transformer loss-of-life / hot-spot excursion risk",
               "IEC 60076-7 hot spot > 120 °C within the next day", "loading now; max loading last 24 h",
               "PR-AUC", "XGBoost, 88 %", built=True),
    ModelEntry("maintenance", "overload_risk", "overload within the next hours",
               "future loading > 100 % within 4 h from the power flow", "loading now; same 4 h yesterday",
               "PR-AUC, F1", "SVM, 90 %", built=True),
    ModelEntry("maintenance", "power_quality_index", "voltage-band compliance over the next 4 h (the operator's "
               "±5 % band inside EN 50160's ±10 %)", "future bus voltages of the power flow outside ±5 %",
               "band usage now; same 4 h yesterday", "PR-AUC",
               "Neural net, R² 0.87 on a weighted sum of its inputs", built=True),
    ModelEntry("maintenance", "voltage_sag_prediction", "sag days per bus in the next year (the fault-position method)",
               "Poisson faults at seeded true line rates, their retained voltages from IEC 60909",
               "the same number for every bus; last year's sag days", "RMSE of sag days",
               "Random Forest, 'custom'", built=True),
    ModelEntry("energy_flow", "load_forecast", "day-ahead load (96 quarter-hours issued at midnight), per load and "
               "aggregated", "the future demand of the grid's profile year", "7-day same-slot mean (and persistence)",
               "NMAE", "Prophet + LSTM, MAPE < 10 %", built=True),
    ModelEntry("energy_flow", "technical_losses", "technical losses of a feeder", "losses of the power flow (unmeasured)",
               "no-load + load loss fit cU² + k(P²+Q²)/U²", "MAE in kW", "Linear regression, R² 0.82", built=True),
    ModelEntry("energy_flow", "power_flow_optimisation", "taps and capacitor steps minimising losses within limits",
               "optimiser's result, every proposal checked by a power flow", "taps unchanged",
               "loss reduction, violations", "LP returning a fixed dictionary", built=True),
    ModelEntry("energy_flow", "demand_response_clusters", "clusters of load shapes for demand response",
               "unsupervised (profile type held out)", "one cluster; k-means on level and peakiness",
               "adjusted Rand index vs profile type", "K-Means, silhouette 0.63", built=True),
    ModelEntry("decision", "reactive_power", "PV inverters' power factor per step (reactive-power compensation)",
               "optimiser over power flows: within the voltage band first, least losses second",
               "unity power factor", "quarter-hours outside the band, loss change", "Neural net, MAE < 50 var",
               built=True),
    ModelEntry("decision", "phase_balancing", "phase load balancing moves (reconnect uneven loads)",
               "asymmetric power flow after the move (worst-bus VUF)", "no move", "unbalance reduction", "MCDA",
               built=True),
    ModelEntry("decision", "grid_stability", "grid stability: loading margin to the voltage limit or collapse",
               "λ* of power flows with every load scaled (first bus < 0.9 pu or no solution), by bisection",
               "constant MVA headroom λ = 1 + M/|S|", "MAE of λ*", "RF+XGB+LR ensemble, 93 %", built=True),
    ModelEntry("decision", "dispatch", "battery and PV-curtailment schedule for a day (an LP)",
               "the LP's optimum, every schedule checked by a power flow", "merit order without network",
               "cost, quarter-hours above the transformer's rating", "SVR, R² 0.79", built=True),
    ModelEntry("gnn", "state_estimation", "bus voltages from 5-30 % measured buses and pseudo-loads, unseen grids",
               "true voltages of the simulator's power flow (hidden state)",
               "power-grid-model WLS estimator; substation voltage everywhere", "MAE in % of nominal",
               "(none)", built=True),
    ModelEntry("gnn", "fault_location", "which bus faulted, from sparse sensors' retained voltages and fault currents, "
               "unseen grids", "the simulated fault's bus (IEC 60909 fault study in power-grid-model)",
               "fault passage indicators + one-ended impedance; deepest-sag bus", "top-1 / top-3 accuracy",
               "(none)", built=True),
)


def entry(name: str) -> ModelEntry:
    """The catalogue entry of a registry name; a clear error listing the names when unknown."""
    for model in MODELS:
        if model.name == name:
            return model
    raise KeyError(f"{name!r} is not a model; the models are {', '.join(m.name for m in MODELS)}")
