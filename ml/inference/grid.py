"""The models that read the recent history of the grid a point measures in, at 15-minute resolution.

Overload risk (every line and transformer on the point's supply path), equipment failure risk
(the transformer supplying it), the power-quality index (its bus's voltage band), technical losses and
the loading margin (the grid's, from its substation's P, Q and U) and the load forecast (the loads at the point's bus, next quarter-hour) each read the same
:class:`GridHistory` through the input builders their training used (``ovl.inputs``,
``fr.inputs``, ``tl.features``, ``load_forecast.features``), at the profile-year positions of
the history's steps, so a served input is built exactly as a training sample was.

A grid's answer is the same for every point of it within one quarter-hour, so
:func:`grid_answers` runs once per grid and slot and the engine caches it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ml.boosted import Boosted
from ml.data.load_series import SLOTS_PER_DAY
from ml.energy_flow import technical_losses as tl
from ml.inference.outputs import OUTPUT_OF_MODEL, BatchPrediction
from ml.maintenance import failure_risk as fr
from ml.maintenance import overload_risk as ovl
from ml.maintenance import power_quality_index as pqi
from ml.registry import Registry, RegistryError
from ml.serving import ModelCache
from physics.thermal import transformer_thermal

OVERLOAD = "maintenance.overload_risk"
FAILURE = "maintenance.equipment_failure_risk"
LOSSES = "energy_flow.technical_losses"
LOAD = "energy_flow.load_forecast"
QUALITY = "maintenance.power_quality_index"
STABILITY = "decision.grid_stability"
MODEL_FILE = "model.ubj"
GRID_MODELS = (OVERLOAD, FAILURE, QUALITY, LOSSES, LOAD, STABILITY)


@dataclass
class GridHistory:
    """A grid's last 14 days and today up to now, per quarter-hour, as its power flow gives them.

    ``first_position`` is the profile-year quarter-hour of row 0 (whole days: row 0 is a midnight);
    the last row is the quarter-hour of now.  ``loading`` is per unit of rating, columns
    ``branch_twins``; ``head`` the substation's P (W), Q (var) and voltage (pu).
    """

    grid_id: str
    #: Where the grid came from (``simbench:<code>``), when known: a per-grid estimator trained on it applies.
    source: str | None
    first_position: int
    branch_twins: tuple[str, ...]
    transformer_columns: tuple[int, ...]
    loading: np.ndarray
    head: np.ndarray
    #: ``(steps, nodes)`` bus voltages in pu; ``point_node``: point -> its bus's column.
    u_pu: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    point_node: dict[str, int] = field(default_factory=dict)
    #: point -> columns of the branches from the source to its bus; the transformer column nearest the point.
    point_paths: dict[str, tuple[int, ...]] = field(default_factory=dict)
    point_transformer: dict[str, int | None] = field(default_factory=dict)
    #: point -> demand (W) of the loads at its bus per row.
    point_demand_w: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def last_row(self) -> int:
        return len(self.loading) - 1


@dataclass
class GridAnswers:
    """What the grid models answer for the grid's points: per model, a value per point, the version,
    or why the model has no answer for the grid (``reasons``) or for a point (``point_reasons``)."""

    values: dict[str, dict[str, float]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    point_reasons: dict[str, dict[str, str]] = field(default_factory=dict)

    def merge_into(self, batch: BatchPrediction, rows: np.ndarray) -> None:
        """Copy this grid's answers into ``batch`` at ``rows`` (the batch's points of this grid)."""
        twin_ids = [batch.twin_ids[r] for r in rows]
        for name in GRID_MODELS:
            output = OUTPUT_OF_MODEL[name]
            if not batch.asked(output):
                continue
            if name in self.reasons:
                batch.missing(output, self.reasons[name], rows)
                continue
            per_point = self.values.get(name, {})
            values = np.array([per_point.get(t, np.nan) for t in twin_ids], dtype=float)
            batch.put(output, rows, values, self.versions[name])
            lacking = rows[np.isnan(values)]
            if len(lacking):
                own = self.point_reasons.get(name, {})
                for row in lacking:
                    batch.missing(output, own.get(batch.twin_ids[row], "no element of this point's supply answers it"),
                                  np.array([row]))


def _boosted(name: str, features: tuple[str, ...], file_name: str = MODEL_FILE):
    def load(registry: Registry, version: int) -> Boosted:
        return Boosted.from_bytes(registry.load(name, version).read(file_name), features)
    return load


def _overload(model: Boosted, history: GridHistory) -> np.ndarray:
    """P(overload within 4 h) of every branch now."""
    x = ovl.inputs(history.loading, np.array([history.last_row]), history.first_position)[0]
    return model.predict(x)


def _failure(model: Boosted, history: GridHistory) -> np.ndarray:
    """P(hot spot > 120 °C within a day) of every transformer now, top oil from IEC 60076-7 on the history."""
    columns = list(history.transformer_columns)
    loading = np.nan_to_num(history.loading[:, columns])
    ambient = fr.ambient_c(len(loading), history.first_position)
    oil = np.column_stack([transformer_thermal(loading[:, k], ambient, fr.STEP_S).top_oil_c
                           for k in range(len(columns))])
    return model.predict(fr.inputs(loading, oil, np.array([history.last_row]), history.first_position)[0])


def _quality_index(model: Boosted, history: GridHistory) -> np.ndarray:
    """Per bus: 100 × P(voltage within ±5 % for the next 4 h), from its band usage over the history."""
    usage = pqi.band_usage(history.u_pu)
    x = ovl.inputs(usage, np.array([history.last_row]), history.first_position)[0]
    return 100.0 * (1.0 - model.predict(x))


def _losses_kw(model: Boosted, history: GridHistory) -> float:
    x = tl.features(history.head[-1:], history.first_position + history.last_row)
    return float(model.predict(x)[0])


def _stability(model: Boosted, history: GridHistory) -> float:
    """1 − 1/λ*, λ* the estimated factor the grid's demand can grow by before a bus falls below 0.9 pu
    (0 at the limit now, towards 1 with a large margin), from the same substation inputs as the losses."""
    x = tl.features(history.head[-1:], history.first_position + history.last_row)
    margin = max(float(model.predict(x)[0]), 1.0)
    return 1.0 - 1.0 / margin


def _next_quarter_kw(forecaster, demand_w: np.ndarray, history: GridHistory) -> float:
    """The day-ahead model's value for the quarter-hour after now, from the 14 whole days before its day."""
    from ml.energy_flow.load_forecast import HISTORY_DAYS

    days = demand_w[: len(demand_w) // SLOTS_PER_DAY * SLOTS_PER_DAY].reshape(-1, SLOTS_PER_DAY) / 1e6
    next_row = history.last_row + 1
    target_day, slot = divmod(next_row, SLOTS_PER_DAY)
    if target_day < HISTORY_DAYS or len(days) < target_day:
        return float("nan")
    past = days[target_day - HISTORY_DAYS:target_day]
    scale = float(past.mean()) or 1.0
    matrix = np.vstack([past, np.zeros((1, SLOTS_PER_DAY))])
    first_day = history.first_position // SLOTS_PER_DAY + target_day - HISTORY_DAYS
    return float(forecaster.predict(matrix, [HISTORY_DAYS], scale, first_day)[0][slot] * 1000.0)


def _answer(cache: ModelCache, name: str, loader, compute, history: GridHistory, answers: GridAnswers,
            key: str | None = None) -> None:
    """Run one model for the grid and keep each point's value (or the reason there is none)."""
    try:
        model, version = cache.get(name, loader, key)
        per_point = compute(model)
    except (RegistryError, ValueError, KeyError) as error:
        answers.reasons[name] = str(error).strip("'\"")
        return
    answers.versions[name] = version
    values = answers.values.setdefault(name, {})
    for point in history.point_paths:
        value = per_point(point)
        if value is not None and np.isfinite(value):
            values[point] = float(value)


def grid_answers(cache: ModelCache, history: GridHistory) -> GridAnswers:
    """The maintenance and energy fields of every point of ``history``'s grid, now."""
    from ml.jobs import load_forecast as load_job

    answers = GridAnswers()

    def overload(model: Boosted):
        risk = _overload(model, history)
        return lambda point: max((risk[c] for c in history.point_paths[point]), default=None)

    def failure(model: Boosted):
        risk = dict(zip(history.transformer_columns, _failure(model, history))) if history.transformer_columns else {}
        return lambda point: risk.get(history.point_transformer.get(point))

    def quality(model: Boosted):
        index = _quality_index(model, history)
        return lambda point: index[history.point_node[point]] if point in history.point_node else None

    def losses(model: Boosted):
        value = _losses_kw(model, history)
        return lambda point: value

    def stability(model: Boosted):
        value = _stability(model, history)
        return lambda point: value

    def load(forecaster):
        by_series: dict[int, float] = {}  # points on one bus share its demand series: one forecast per bus

        def of(point: str) -> float | None:
            demand = history.point_demand_w.get(point)
            if demand is None:
                return None
            if id(demand) not in by_series:
                by_series[id(demand)] = _next_quarter_kw(forecaster, demand, history)
            return by_series[id(demand)]
        return of

    _answer(cache, OVERLOAD, _boosted(OVERLOAD, ovl.FEATURES), overload, history, answers)
    _answer(cache, FAILURE, _boosted(FAILURE, fr.FEATURES), failure, history, answers)
    _answer(cache, QUALITY, _boosted(QUALITY, pqi.FEATURES), quality, history, answers)
    names = (history.grid_id,) + ((history.source.partition(":")[2],) if history.source else ())
    for name, compute in ((LOSSES, losses), (STABILITY, stability)):  # one estimator per grid each
        _answer(cache, name, _per_grid_loader(name, names), compute, history, answers, key=f"{name}/{'/'.join(names)}")
    _answer(cache, LOAD, load_job.load, load, history, answers)
    for point in history.point_paths:
        if point not in history.point_demand_w:
            answers.point_reasons.setdefault(LOAD, {})[point] = "no load at the point's bus"
        if not history.point_paths[point]:
            answers.point_reasons.setdefault(OVERLOAD, {})[point] = "the point measures at the source's own bus"
    return answers


def _per_grid_loader(model: str, names: tuple[str, ...]):
    """The estimator of ``model`` trained for this grid: by its id, else by the source it was imported from
    (losses and loading margins are the network's own: one estimator per grid, on the substation's inputs)."""
    def load(registry: Registry, version: int) -> Boosted:
        artefact = registry.load(model, version)
        for name in names:
            if artefact.has_grid(name):
                return Boosted.from_bytes(artefact.read_grid(name), tl.FEATURES)
        raise RegistryError(f"{model} v{version} has no estimator for grid {' or '.join(map(repr, names))}; it was "
                            f"trained on {', '.join(artefact.metadata.get('grids', []))}")
    return load
