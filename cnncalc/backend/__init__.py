"""The NumPy backend: run a built graph and check the analyzer against the execution.

* :mod:`cnncalc.backend.run`: allocate every declared weight, execute the layers' ``forward``
  methods in topological order, freeing each activation after its last consumer
  (``cnncalc.run``).
* :mod:`cnncalc.backend.verify`: compare each layer's executed output shape and the allocated
  weight count with the analyzer's (``cnncalc.verify``, ``cnncalc verify``).
* :mod:`cnncalc.backend.memory`: the peak-memory estimate and the budget a run must fit.

NumPy is an optional extra (``pip install "cnncalc[numpy]"``) and is imported inside functions.
"""
