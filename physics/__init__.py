"""The physics engine: power flow over time, short circuits, and the models steady state leaves out.

A room of its own, below the loaders: it takes plain inputs (power-grid-model input arrays, the
pandapower net they came from, profile tables as DataFrames or arrays) and returns arrays.  It
talks to no server and imports nothing of ours but the ground, so the same engine serves a
simulation run, a test and a benchmark.  See docs/simulation.md for which engine computes what,
the equations of every model and their limits.  numpy is the only import at package level;
power-grid-model and pandapower are imported inside the functions that need them.
"""
