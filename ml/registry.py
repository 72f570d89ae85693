"""Versioned model artefacts on disk: safe formats only, every file checked by its SHA-256.

A trained model is a folder ``<root>/<model name>/<version>/`` holding its files (XGBoost
UBJSON, a torch ``state_dict`` read back with ``weights_only=True``, NumPy ``.npz`` without
pickled objects, JSON) and ``manifest.json``: the files' hashes and the metadata (training
data hash, features, metrics, library versions).  Nothing here unpickles: a file whose hash
does not match its manifest is refused before any library parses it, so a swapped file on
disk cannot run code or silently change a prediction.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST = "manifest.json"
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_FILE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
#: Libraries whose versions are recorded with every artefact (those a model file depends on).
RECORDED_LIBRARIES = ("numpy", "scikit-learn", "xgboost-cpu", "xgboost", "torch", "torch-geometric",
                      "power-grid-model", "simbench")


class RegistryError(ValueError):
    """An artefact that is missing, malformed or does not match its manifest; names the file."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def data_sha256(parts: Iterable[str | np.ndarray]) -> str:
    """The SHA-256 of a training set given as names and arrays, in order (an artefact's ``data_sha256``)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries an artefact depends on (absent ones left out)."""
    versions = {}
    for name in RECORDED_LIBRARIES:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            continue
    return versions


@dataclass(frozen=True)
class Artefact:
    """One stored version of one model: where it is, its files' hashes and its metadata."""

    name: str
    version: int
    folder: Path
    files: dict[str, str]
    metadata: dict[str, Any] = field(default_factory=dict)

    def read(self, file_name: str) -> bytes:
        """The file's bytes after checking them against the manifest's hash."""
        expected = self.files.get(file_name)
        if expected is None:
            raise RegistryError(f"{self.folder}: {file_name!r} is not a file of {self.name} v{self.version}")
        data = (self.folder / file_name).read_bytes()
        if sha256(data) != expected:
            raise RegistryError(f"{self.folder / file_name}: SHA-256 does not match {MANIFEST}; refusing to load it")
        return data

    def has_grid(self, code: str) -> bool:
        """Whether a per-grid model set (one estimator per grid) holds one for ``code``."""
        return grid_file(code) in self.files

    def read_grid(self, code: str) -> bytes:
        """The estimator of grid ``code`` in a per-grid model set; a clear error naming the grids it has."""
        if not self.has_grid(code):
            raise RegistryError(f"{self.name} v{self.version} has no estimator for {code}; it was trained on "
                                f"{', '.join(self.metadata.get('grids', []))}")
        return self.read(grid_file(code))


def grid_file(code: str) -> str:
    """The file name of one grid's estimator in a per-grid model set."""
    return f"model-{code.lower()}.ubj"


#: The models folder below a profile's state folder.
MODELS_FOLDER = "models"


class Registry:
    """The models folder of one profile (``<state dir>/models``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def of_profile(cls, state_path: Path) -> Registry:
        """The registry of the profile whose state folder is ``state_path``."""
        return cls(state_path / MODELS_FOLDER)

    def _model_folder(self, name: str) -> Path:
        if not _NAME.match(name):
            raise RegistryError(f"model name {name!r}: lower-case words separated by dots, e.g. energy_flow.load_forecast")
        return self.root / name

    def versions(self, name: str) -> list[int]:
        folder = self._model_folder(name)
        if not folder.is_dir():
            return []
        return sorted(int(entry.name) for entry in folder.iterdir() if entry.name.isdigit())

    def save(self, name: str, files: dict[str, bytes], metadata: dict[str, Any]) -> Artefact:
        """Write a new version; it becomes visible only once complete (written aside, then renamed)."""
        for file_name in files:
            if not _FILE.match(file_name) or file_name == MANIFEST:
                raise RegistryError(f"{name}: {file_name!r} is not an allowed artefact file name")
        folder = self._model_folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        version = (self.versions(name) or [0])[-1] + 1
        stage = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=folder))
        hashes = {}
        for file_name, data in files.items():
            (stage / file_name).write_bytes(data)
            hashes[file_name] = sha256(data)
        full = {**metadata, "libraries": library_versions(), "saved_at": datetime.now(UTC).isoformat()}
        manifest = {"name": name, "version": version, "files": hashes, "metadata": full}
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        os.replace(stage, folder / str(version))
        return Artefact(name, version, folder / str(version), hashes, full)

    def load(self, name: str, version: int | None = None) -> Artefact:
        """The given version, or the newest; a missing model or manifest is a :class:`RegistryError`."""
        versions = self.versions(name)
        if not versions:
            raise RegistryError(f"{self.root}: no trained model {name!r}; run `gridtwin ml train`")
        chosen = versions[-1] if version is None else version
        folder = self._model_folder(name) / str(chosen)
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except FileNotFoundError as error:
            raise RegistryError(f"{folder}: no {MANIFEST}") from error
        except json.JSONDecodeError as error:
            raise RegistryError(f"{folder / MANIFEST}: line {error.lineno}: {error.msg}") from error
        if manifest.get("name") != name or manifest.get("version") != chosen:
            raise RegistryError(f"{folder / MANIFEST}: names {manifest.get('name')} v{manifest.get('version')}")
        return Artefact(name, chosen, folder, dict(manifest["files"]), dict(manifest.get("metadata", {})))

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(entry.name for entry in self.root.iterdir() if entry.is_dir() and self.versions(entry.name))
