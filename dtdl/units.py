"""Semantic types and units (DTDL v2 built-ins; QuantitativeTypes extension v1 for DTDL v3 and
v2 for DTDL v4).  Source: the DTDL language specifications' unit tables.

Each semantic type maps to its unit type; each unit type lists its units.
"""
from __future__ import annotations

_POWER = ("britishThermalUnitPerHour gigajoulePerHour gigawatt horsepower joulePerHour joulePerSecond "
          "kiloBritishThermalUnitPerHour kilojoulePerHour kilojoulePerSecond kilowatt kilowattHourPerYear "
          "megajoulePerHour megawatt microwatt milliwatt tonOfRefrigeration watt")
_ANGLE = "degreeOfArc minuteOfArc radian secondOfArc turn"
_LENGTH = ("astronomicalUnit centimetre foot inch kilometre metre micrometre mile millimetre nanometre "
           "nauticalMile")
_UNITLESS = "partsPerBillion partsPerMillion partsPerQuadrillion partsPerTrillion percent unity"
_DENSITY = "gramPerCubicMetre kilogramPerCubicMetre microgramPerCubicMetre milligramPerCubicMetre"
_FORCE = "newton ounce pound ton"

UNIT_TYPES: dict[str, str] = {
    "AccelerationUnit": "centimetrePerSecondSquared gForce metrePerSecondSquared",
    "AngleUnit": _ANGLE,
    "AngularAccelerationUnit": "radianPerSecondSquared",
    "AngularVelocityUnit": "degreePerSecond radianPerSecond revolutionPerMinute revolutionPerSecond",
    "ApparentEnergyUnit": "gigavoltAmpereHour kilovoltAmpereHour megavoltAmpereHour voltAmpereHour",
    "ApparentPowerUnit": "gigavoltAmpere kilovoltAmpere megavoltAmpere millivoltAmpere voltAmpere",
    "AreaUnit": ("acre hectare squareCentimetre squareFoot squareInch squareKilometre squareMetre "
                 "squareMillimetre"),
    "CapacitanceUnit": "farad microfarad millifarad nanofarad picofarad",
    "Unitless": _UNITLESS,
    "CurrentUnit": "ampere kiloampere microampere milliampere",
    "DataRateUnit": ("bitPerSecond bytePerSecond exbibitPerSecond exbibytePerSecond gibibitPerSecond "
                     "gibibytePerSecond kibibitPerSecond kibibytePerSecond mebibitPerSecond mebibytePerSecond "
                     "tebibitPerSecond tebibytePerSecond yobibitPerSecond yobibytePerSecond zebibitPerSecond "
                     "zebibytePerSecond"),
    "DataSizeUnit": ("bit byte exbibit exbibyte gibibit gibibyte kibibit kibibyte mebibit mebibyte tebibit "
                     "tebibyte yobibit yobibyte zebibit zebibyte"),
    "DensityUnit": _DENSITY,
    "LengthUnit": _LENGTH,
    "ChargeUnit": "ampereHour coulomb milliampereHour",
    "EnergyUnit": ("britishThermalUnit electronvolt gigajoule gigawattHour joule kiloBritishThermalUnit kilojoule "
                   "kilowattHour megaelectronvolt megajoule megawattHour milliwattHour terawattHour wattHour"),
    "PowerUnit": _POWER,
    "ForceUnit": _FORCE,
    "FrequencyUnit": "gigahertz hertz kilohertz megahertz millihertz",
    "IlluminanceUnit": "footcandle lux",
    "InductanceUnit": "henry microhenry millihenry",
    "IonizingRadiationDoseUnit": "gray microgray microsievert milligray millisievert sievert",
    "IrradianceUnit": "wattPerSquareMetre",
    "LuminanceUnit": "candelaPerSquareMetre",
    "LuminousFluxUnit": "lumen",
    "LuminousIntensityUnit": "candela",
    "MagneticFluxUnit": "maxwell weber",
    "MagneticInductionUnit": "gauss tesla",
    "MassUnit": "gram kilogram massPound microgram milligram slug tonne",
    "MassFlowRateUnit": "gramPerHour gramPerSecond kilogramPerHour kilogramPerSecond massPoundPerHour",
    "PressureUnit": ("bar decapascal hectopascal inchesOfMercury inchesOfWater kilopascal millibar "
                     "millimetresOfMercury pascal poundPerSquareInch"),
    "RadioactivityUnit": "becquerel gigabecquerel kilobecquerel megabecquerel",
    "ReactiveEnergyUnit": ("gigavoltAmpereReactiveHour kilovoltAmpereReactiveHour megavoltAmpereReactiveHour "
                           "voltAmpereReactiveHour"),
    "ReactivePowerUnit": ("gigavoltAmpereReactive kilovoltAmpereReactive megavoltAmpereReactive "
                          "millivoltAmpereReactive voltAmpereReactive"),
    "ResistanceUnit": "kiloohm megaohm milliohm ohm",
    "SoundPressureUnit": "bel decibel",
    "TemperatureUnit": "degreeCelsius degreeFahrenheit kelvin",
    "TimeUnit": "day hour microsecond millisecond minute nanosecond second year",
    "TorqueUnit": "newtonMetre",
    "VelocityUnit": ("centimetrePerSecond kilometrePerHour kilometrePerSecond knot metrePerHour metrePerSecond "
                     "milePerHour milePerSecond"),
    "VoltageUnit": "kilovolt megavolt microvolt millivolt volt",
    "VolumeUnit": "cubicCentimetre cubicFoot cubicInch cubicMetre fluidOunce gallon litre millilitre",
    "VolumeFlowRateUnit": ("cubicFootPerMinute cubicMetrePerHour cubicMetrePerMinute cubicMetrePerSecond "
                           "gallonPerHour gallonPerMinute litrePerHour litrePerMinute litrePerSecond "
                           "millilitrePerHour millilitrePerMinute millilitrePerSecond"),
}

SEMANTIC_TYPES: dict[str, str] = {
    "Acceleration": "AccelerationUnit", "Angle": "AngleUnit",
    "AngularAcceleration": "AngularAccelerationUnit", "AngularVelocity": "AngularVelocityUnit",
    "ApparentEnergy": "ApparentEnergyUnit", "ApparentPower": "ApparentPowerUnit", "Area": "AreaUnit",
    "Capacitance": "CapacitanceUnit", "Concentration": "Unitless", "Current": "CurrentUnit",
    "DataRate": "DataRateUnit", "DataSize": "DataSizeUnit", "Density": "DensityUnit",
    "Distance": "LengthUnit", "ElectricCharge": "ChargeUnit", "Energy": "EnergyUnit",
    "EnergyRate": "PowerUnit", "Force": "ForceUnit", "Frequency": "FrequencyUnit",
    "Humidity": "DensityUnit", "Illuminance": "IlluminanceUnit", "Inductance": "InductanceUnit",
    "IonizingRadiationDose": "IonizingRadiationDoseUnit", "Irradiance": "IrradianceUnit",
    "Latitude": "AngleUnit", "Length": "LengthUnit", "Longitude": "AngleUnit",
    "Luminance": "LuminanceUnit", "Luminosity": "PowerUnit", "LuminousFlux": "LuminousFluxUnit",
    "LuminousIntensity": "LuminousIntensityUnit", "MagneticFlux": "MagneticFluxUnit",
    "MagneticInduction": "MagneticInductionUnit", "Mass": "MassUnit", "MassFlowRate": "MassFlowRateUnit",
    "Power": "PowerUnit", "Pressure": "PressureUnit", "Radioactivity": "RadioactivityUnit",
    "ReactiveEnergy": "ReactiveEnergyUnit", "ReactivePower": "ReactivePowerUnit",
    "RelativeDensity": "Unitless", "RelativeHumidity": "Unitless", "Resistance": "ResistanceUnit",
    "SoundPressure": "SoundPressureUnit", "Temperature": "TemperatureUnit", "Thrust": "ForceUnit",
    "TimeSpan": "TimeUnit", "Torque": "TorqueUnit", "Velocity": "VelocityUnit", "Voltage": "VoltageUnit",
    "Volume": "VolumeUnit", "VolumeFlowRate": "VolumeFlowRateUnit",
}

#: Semantic types DTDL v2 did not have yet (added with QuantitativeTypes v1).
_NOT_IN_V2 = {"ApparentEnergy", "ApparentPower", "Concentration", "EnergyRate", "IonizingRadiationDose",
              "Irradiance", "Radioactivity", "ReactiveEnergy", "ReactivePower", "RelativeDensity"}


def semantic_types(dtdl_version: int) -> dict[str, str]:
    """Semantic type -> unit type available for a DTDL version (v2 built in, v3/v4 via extension)."""
    if dtdl_version == 2:
        return {semantic_type: unit_type for semantic_type, unit_type in SEMANTIC_TYPES.items()
                if semantic_type not in _NOT_IN_V2}
    return dict(SEMANTIC_TYPES)


def units_of(unit_type: str) -> frozenset[str]:
    """The units of a unit type."""
    return frozenset(UNIT_TYPES.get(unit_type, "").split())


ALL_UNITS: frozenset[str] = frozenset(unit for units in UNIT_TYPES.values() for unit in units.split())
