"""A grid's time-series profiles, kept beside the twin graph for the simulator.

simbench ships a year of 15-minute factors per load, generator and storage profile (35,136
steps x some 60 columns for an MV/LV grid) and its study cases (load-case scaling factors).
Twins name their profile (``profile``, e.g. ``H0-B``); the tables live in ONE compressed NumPy
archive per grid, ``<state dir>/grids/<grid id>/profiles.npz``, which the grid's
ElectricalGrid twin names (``profileFile``, relative to the state folder, and ``profileSteps``).

Why a file and not the alternatives:

* **not twin properties**: one profile is shared by many twins and is 35,136 numbers; as node
  properties they would be copied per twin and read with every twin read;
* **not InfluxDB**: the profiles are a *reference year* of dimensionless factors (2016 in
  simbench), not measurements of the twins; written as points they would cost seconds per grid
  (an import has 10 s in all), and the telemetry bucket's retention and minute aggregates would
  age and aggregate them.  The simulator reads a whole table at once, which is what an array is;
* **NumPy's ``.npz``** (a zip of ``.npy`` arrays, deflated) needs no new dependency (parquet
  would need pyarrow), keeps float64 exactly, and is read with ``allow_pickle=False``: only
  numeric and text arrays, so a tampered file cannot run code.  The file lives in the profile's
  state folder, so the demo and test profiles keep theirs apart and ``delete_grid`` removes it.

Layout: ``tables`` (names); per table ``i``: ``t<i>.columns`` (all names, in order) and
``t<i>.is_text`` (which of them are text), ``t<i>.numeric`` (float64, rows x numeric columns), ``t<i>.text<j>`` (one string array per text
column, e.g. simbench's ``time``), ``t<i>.index`` (int64 row labels); study cases as
``study.index`` / ``study.columns`` / ``study.values``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridtwin.config import Settings
from loaders.grids.document import GridSourceError, check_grid_id

PROFILE_FILE = "profiles.npz"
GRIDS_FOLDER = "grids"


@dataclass(frozen=True)
class GridProfiles:
    """A grid's profile tables (DataFrames as the source gave them) and study cases (or None)."""

    tables: dict[str, Any]
    study_cases: Any = None

    @property
    def steps(self) -> int:
        """Rows of the longest table (a simbench year: 35,136)."""
        return max((len(table) for table in self.tables.values()), default=0)


def grid_folder(settings: Settings, grid_id: str) -> Path:
    """``<state dir>/grids/<grid id>``: the id is checked to be a plain file name first."""
    return settings.state_path / GRIDS_FOLDER / check_grid_id(grid_id)


def relative_profile_file(grid_id: str) -> str:
    """What the ElectricalGrid twin's ``profileFile`` holds: the archive's path below the state folder."""
    return f"{GRIDS_FOLDER}/{check_grid_id(grid_id)}/{PROFILE_FILE}"


def _table_arrays(prefix: str, name: str, table: Any) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise GridSourceError(f"profile table {name!r}", None, f"is a {type(table).__name__}, not a table")
    if table.columns.has_duplicates:
        raise GridSourceError(f"profile table {name!r}", None, "has duplicate column names")
    numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])]
    arrays: dict[str, Any] = {f"{prefix}.columns": np.array([str(c) for c in table.columns], dtype=str),
                              f"{prefix}.is_text": np.array([c not in numeric for c in table.columns], dtype=bool)}
    arrays[f"{prefix}.numeric"] = table[numeric].to_numpy(dtype="float64") if numeric else np.zeros((len(table), 0))
    for j, column in enumerate(c for c in table.columns if c not in numeric):
        arrays[f"{prefix}.text{j}"] = np.array(["" if v is None or v != v else str(v) for v in table[column]], dtype=str)
    try:
        arrays[f"{prefix}.index"] = table.index.to_numpy(dtype="int64")
    except (TypeError, ValueError) as error:
        raise GridSourceError(f"profile table {name!r}", "index", "row labels must be whole numbers") from error
    return arrays


def encode_profiles(profiles: Mapping[str, Any], study_cases: Any = None) -> dict[str, Any]:
    """The archive's arrays of a document's profiles: checked before anything is written."""
    import numpy as np

    arrays: dict[str, Any] = {"tables": np.array(list(profiles), dtype=str)}
    for i, (name, table) in enumerate(profiles.items()):
        arrays.update(_table_arrays(f"t{i}", name, table))
    if study_cases is not None and len(study_cases):
        try:
            arrays["study.values"] = study_cases.to_numpy(dtype="float64")
        except (TypeError, ValueError) as error:
            raise GridSourceError("study cases", None, "every value must be a number") from error
        arrays["study.index"] = np.array([str(i) for i in study_cases.index], dtype=str)
        arrays["study.columns"] = np.array([str(c) for c in study_cases.columns], dtype=str)
        arrays["study.index_name"] = np.array([str(study_cases.index.name or "")], dtype=str)
    return arrays


def save_profiles(settings: Settings, grid_id: str, arrays: Mapping[str, Any]) -> Path:
    """Write the archive atomically (a reader never sees half a file); returns its path."""
    import numpy as np

    folder = grid_folder(settings, grid_id)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".profiles-", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez_compressed(file, **arrays)  # type: ignore[arg-type]
        os.replace(temporary, folder / PROFILE_FILE)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return folder / PROFILE_FILE


def _table(archive: Any, prefix: str) -> Any:
    """One table back from its arrays, columns in their stored order."""
    import pandas as pd

    numeric = archive[f"{prefix}.numeric"]
    data: dict[str, Any] = {}
    text = number = 0
    for column, is_text in zip(archive[f"{prefix}.columns"], archive[f"{prefix}.is_text"]):
        if is_text:
            data[str(column)] = archive[f"{prefix}.text{text}"].astype(object)
            text += 1
        else:
            data[str(column)] = numeric[:, number]
            number += 1
    return pd.DataFrame(data, index=pd.Index(archive[f"{prefix}.index"]), columns=list(data))


def _study_cases(archive: Any) -> Any:
    import pandas as pd

    if "study.values" not in archive:
        return None
    index = pd.Index(archive["study.index"].astype(object), name=str(archive["study.index_name"][0]) or None)
    return pd.DataFrame(archive["study.values"], index=index, columns=[str(c) for c in archive["study.columns"]])


def load_profiles(settings: Settings, grid_id: str) -> GridProfiles | None:
    """The stored profiles of a grid (what the simulator replays), or None when it has none."""
    import numpy as np

    path = grid_folder(settings, grid_id) / PROFILE_FILE
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as archive:
        tables = {str(name): _table(archive, f"t{i}") for i, name in enumerate(archive["tables"])}
        return GridProfiles(tables, _study_cases(archive))


def delete_profiles(settings: Settings, grid_id: str) -> bool:
    """Remove the grid's folder of profiles; True when there was one."""
    import shutil

    folder = grid_folder(settings, grid_id)
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True


__all__ = ["GridProfiles", "delete_profiles", "encode_profiles", "grid_folder", "load_profiles",
           "relative_profile_file", "save_profiles"]
