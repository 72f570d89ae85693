"""CIM RDF/XML profiles (IEC 61970-552; CGMES EQ, SSH, TP, SV) read into one rdflib graph, with the small
accessors the CGMES converter (loaders/grids/from_cgmes.py) and the tests read it through.

Every profile is parsed under one base, so ``rdf:ID="_x"`` of EQ and ``rdf:about="#_x"`` of SSH, TP
and SV name the same resource; CGMES 2.4.15 (``cim16``) and 3.0 (``CIM100``) differ in the namespace
only for what is read here. Every problem names the source and the element (its class, mRID and name).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDF, Graph, Namespace
from rdflib.term import Node

from loaders.grids.document import GridSourceError

BASE = "urn:gridtwin:cgmes"
_CIM_NAMESPACES = ("http://iec.ch/TC57/2013/CIM-schema-cim16#", "http://iec.ch/TC57/CIM100#")


#: The most a .zip may unpack to (a 64 MiB upload must not become gigabytes in memory): checked from the
#: archive's directory before anything is decompressed. A 10,000-bus grid's profiles are ~50 MiB.
MAX_UNPACKED_BYTES = 1 << 30


def cgmes_files(source: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of every RDF/XML document of a source: one .xml file, a folder of them, or a .zip."""
    if source.is_dir():
        return [(path.name, path.read_bytes()) for path in sorted(source.glob("*.xml"))]
    if source.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(source) as archive:
                members = sorted((info for info in archive.infolist() if info.filename.lower().endswith(".xml")),
                                 key=lambda info: info.filename)
                unpacked = sum(info.file_size for info in members)
                if unpacked > MAX_UNPACKED_BYTES:
                    raise GridSourceError(str(source), None, f"the .xml files unpack to {unpacked} bytes, more "
                                                             f"than {MAX_UNPACKED_BYTES}")
                return [(info.filename, archive.read(info)) for info in members]
        except zipfile.BadZipFile as error:
            raise GridSourceError(str(source), None, f"not a .zip archive ({error})") from error
    return [(source.name, source.read_bytes())]


@dataclass
class CimModel:
    """The parsed profiles: one graph, the CIM namespace they use, where the source is (for errors)."""

    graph: Graph
    cim: Namespace
    where: str
    buses: dict[Node, int] = field(default_factory=dict)

    def of_type(self, name: str) -> list[Node]:
        return sorted(self.graph.subjects(RDF.type, self.cim[name]), key=str)

    def value(self, subject: Node, attribute: str) -> Node | None:
        return self.graph.value(subject, self.cim[attribute])

    def number(self, subject: Node, attribute: str, default: float | None = None) -> float:
        found = self.value(subject, attribute)
        if found is None:
            if default is None:
                raise GridSourceError(self.element(subject), attribute, "missing")
            return default
        try:
            return float(found)
        except ValueError as error:
            raise GridSourceError(self.element(subject), attribute, f"{found!r} is not a number") from error

    def flag(self, subject: Node, attribute: str, default: bool) -> bool:
        found = self.value(subject, attribute)
        return default if found is None else str(found).strip().lower() == "true"

    def name(self, subject: Node) -> str:
        return str(self.value(subject, "IdentifiedObject.name") or self.mrid(subject))

    def mrid(self, subject: Node) -> str:
        return str(subject).rsplit("#", 1)[-1].removeprefix("_")

    def element(self, subject: Node) -> str:
        kind = self.graph.value(subject, RDF.type)
        kind_name = str(kind).rsplit("#", 1)[-1] if kind is not None else "element"
        return f"{self.where}: {kind_name} {self.mrid(subject)!r} ({self.name(subject)})"

    def terminals(self, equipment: Node) -> list[Node]:
        found = list(self.graph.subjects(self.cim["Terminal.ConductingEquipment"], equipment))
        return sorted(found, key=lambda t: self.number(t, "ACDCTerminal.sequenceNumber", 1.0))

    def bus_of(self, terminal: Node, equipment: Node) -> int:
        node = self.value(terminal, "Terminal.TopologicalNode") or self.value(terminal, "Terminal.ConnectivityNode")
        if node is None or node not in self.buses:
            raise GridSourceError(self.element(equipment), "Terminal.TopologicalNode", "the terminal connects to no node")
        return self.buses[node]


#: An identifier of rdf:ID, or a local reference (``#...``) of rdf:about / rdf:resource.
_IDENTIFIER = re.compile(rb'(rdf:ID="|rdf:about="#|rdf:resource="#)([^"]*)"')
_NOT_NCNAME = re.compile(rb"[^A-Za-z0-9_.\-]")


def _escaped_identifiers(content: bytes) -> bytes:
    """The document with characters RDF/XML forbids in an rdf:ID (powsybl writes ``_default+region_GR``)
    escaped as ``_xHH_``, the same way in every ID and reference, so the references still meet."""
    def escape(match: re.Match[bytes]) -> bytes:
        value = _NOT_NCNAME.sub(lambda c: b"_x%02X_" % c.group(0)[0], match.group(2))
        return match.group(1) + value + b'"'

    return _IDENTIFIER.sub(escape, content)


def parse(source: Path | str) -> CimModel:
    """Every profile of the source in one graph; a file that is not RDF/XML is refused by name and line."""
    path = Path(source)
    if not path.exists():
        raise GridSourceError(str(path), None, "no such file or folder")
    graph = Graph()
    files = cgmes_files(path)
    if not files:
        raise GridSourceError(str(path), None, "no .xml files")
    for name, content in files:
        try:
            graph.parse(io.BytesIO(_escaped_identifiers(content)), format="xml", publicID=BASE)
        except Exception as error:  # rdflib raises SAX and its own errors: each names the line
            raise GridSourceError(f"{path}: {name}", None, f"not CIM RDF/XML ({error})") from error
    namespaces = {str(uri) for _, uri in graph.namespaces()}
    cim = next((uri for uri in _CIM_NAMESPACES if uri in namespaces), None)
    if cim is None:
        raise GridSourceError(str(path), None, "no CIM namespace (CGMES 2.4.15 cim16 or 3.0 CIM100) in the files")
    return CimModel(graph, Namespace(cim), str(path))


def solved_voltages(source: Path | str) -> Iterator[tuple[str, float, float]]:
    """(bus name, |V| in kV, angle in degrees) of every SvVoltage of the source's SV profile."""
    model = parse(source)
    for voltage in model.of_type("SvVoltage"):
        node = model.value(voltage, "SvVoltage.TopologicalNode")
        if node is not None:
            yield model.name(node), model.number(voltage, "SvVoltage.v"), model.number(voltage, "SvVoltage.angle", 0.0)
