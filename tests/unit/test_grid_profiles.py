"""Profile archives: what goes in comes back identical, nothing but arrays is stored, ids are file names."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridtwin.config import Settings
from loaders.grids.document import GridSourceError, check_grid_id
from loaders.grids.profiles import (delete_profiles, encode_profiles, load_profiles, relative_profile_file,
                                    save_profiles)


def _tables() -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    steps = 96
    load = pd.DataFrame({"time": [f"01.01.2016 {i // 4:02d}:{15 * (i % 4):02d}" for i in range(steps)],
                         "H0-A_pload": np.linspace(0.1, 0.9, steps), "H0-A_qload": np.full(steps, 1 / 3)})
    renewables = pd.DataFrame({"PV1": np.sin(np.arange(steps) / 7.0) ** 2}, index=pd.RangeIndex(10, 10 + steps))
    cases = pd.DataFrame({"pload": [1.0, 0.1], "Slack_vm": [0.965, 1.055]}, index=pd.Index(["hL", "lW"], name="Study Case"))
    return {"load": load, "renewables": renewables}, cases


def test_profiles_come_back_identical(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    tables, cases = _tables()
    path = save_profiles(settings, "g-1", encode_profiles(tables, cases))
    assert path == tmp_path / relative_profile_file("g-1")
    kept = load_profiles(settings, "g-1")
    assert kept is not None and kept.steps == 96
    for name, table in tables.items():
        assert kept.tables[name].equals(table) and list(kept.tables[name].columns) == list(table.columns), name
    assert kept.study_cases.equals(cases) and kept.study_cases.index.name == "Study Case"
    with zipfile.ZipFile(path) as archive:  # plain .npy arrays: np.load(allow_pickle=False) reads them
        assert all(name.endswith(".npy") for name in archive.namelist())
    assert delete_profiles(settings, "g-1") and load_profiles(settings, "g-1") is None
    assert not delete_profiles(settings, "g-1")


def test_a_table_that_is_not_one_is_refused_by_name() -> None:
    with pytest.raises(GridSourceError, match="profile table 'load'"):
        encode_profiles({"load": [1, 2, 3]})
    with pytest.raises(GridSourceError, match="duplicate column"):
        encode_profiles({"load": pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])})


@pytest.mark.parametrize("grid_id", ["", "../etc", "a/b", ".hidden", "x" * 101, "sp ace", None])
def test_grid_ids_are_plain_file_names(grid_id: object, tmp_path: Path) -> None:
    with pytest.raises(GridSourceError, match="grid id"):
        check_grid_id(grid_id)
    if isinstance(grid_id, str):
        with pytest.raises(GridSourceError):
            save_profiles(Settings(state_dir=tmp_path), grid_id, {})
    assert list(tmp_path.iterdir()) == []


def test_simbench_codes_are_grid_ids() -> None:
    assert check_grid_id("1-MVLV-semiurb-all-0-sw") == "1-MVLV-semiurb-all-0-sw"
    assert check_grid_id("create_cigre_network_mv") == "create_cigre_network_mv"
