"""The models folder: versions, hashes checked before any library parses a file, clear refusals."""

from __future__ import annotations

import json

import pytest

from ml.catalogue import MODELS, MODULES, entry
from ml.registry import MANIFEST, Registry, RegistryError


def test_versions_count_up_and_the_newest_is_loaded(tmp_path) -> None:
    registry = Registry(tmp_path)
    first = registry.save("energy_flow.load_forecast", {"model.ubj": b"one"}, {"data_sha256": "a"})
    second = registry.save("energy_flow.load_forecast", {"model.ubj": b"two"}, {"data_sha256": "b"})
    assert (first.version, second.version) == (1, 2)
    newest = registry.load("energy_flow.load_forecast")
    assert newest.version == 2 and newest.read("model.ubj") == b"two"
    assert registry.load("energy_flow.load_forecast", 1).read("model.ubj") == b"one"
    assert newest.metadata["data_sha256"] == "b" and "numpy" in newest.metadata["libraries"]
    assert registry.names() == ["energy_flow.load_forecast"]


def test_a_swapped_file_is_refused_before_it_is_parsed(tmp_path) -> None:
    registry = Registry(tmp_path)
    artefact = registry.save("gnn.state_estimation", {"model.pt": b"weights"}, {})
    (artefact.folder / "model.pt").write_bytes(b"something else")
    with pytest.raises(RegistryError, match="SHA-256 does not match"):
        registry.load("gnn.state_estimation").read("model.pt")


def test_refusals_name_what_is_wrong(tmp_path) -> None:
    registry = Registry(tmp_path)
    with pytest.raises(RegistryError, match="gridtwin ml train"):
        registry.load("gnn.state_estimation")
    with pytest.raises(RegistryError, match="model name"):
        registry.save("../escape", {"x.bin": b""}, {})
    with pytest.raises(RegistryError, match="not an allowed artefact file name"):
        registry.save("gnn.state_estimation", {"../model.pt": b""}, {})
    artefact = registry.save("gnn.state_estimation", {"model.pt": b"w"}, {})
    with pytest.raises(RegistryError, match="is not a file of"):
        artefact.read("other.pt")
    (artefact.folder / MANIFEST).write_text("{\n  broken")
    with pytest.raises(RegistryError, match="line 2"):
        registry.load("gnn.state_estimation")


def test_a_manifest_naming_another_model_is_refused(tmp_path) -> None:
    registry = Registry(tmp_path)
    artefact = registry.save("gnn.state_estimation", {"model.pt": b"w"}, {})
    manifest = json.loads((artefact.folder / MANIFEST).read_text())
    (artefact.folder / MANIFEST).write_text(json.dumps(manifest | {"name": "gnn.fault_location"}))
    with pytest.raises(RegistryError, match="names gnn.fault_location"):
        registry.load("gnn.state_estimation")


def test_the_catalogue_is_sixteen_models_in_four_modules_plus_the_gnn() -> None:
    by_module = {module: [m for m in MODELS if m.module == module] for module in MODULES}
    assert [len(by_module[m]) for m in MODULES[:4]] == [4, 4, 4, 4]
    assert {m.key for m in by_module["gnn"]} == {"state_estimation", "fault_location"}
    assert len({m.name for m in MODELS}) == len(MODELS)
    with pytest.raises(KeyError, match="energy_flow.load_forecast"):
        entry("energy_flow.load_forcast")


def test_every_built_model_has_a_job() -> None:
    from ml import jobs

    assert set(jobs.JOBS) == {m.name for m in MODELS if m.built}
