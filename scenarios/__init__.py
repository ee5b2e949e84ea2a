"""entrasim's scenario catalogue: one documented Entra/LMS behaviour per YAML file in this directory.

Shipped as a package so that an installed entrasim finds it: ``entrasim scenario run``
with no paths runs every file here (``simulator.scenario.runner.catalogue_dir``).
"""

from pathlib import Path

#: Marks this package as entrasim's catalogue (a project may have its own module named ``scenarios``).
ENTRASIM_CATALOGUE = True
DIRECTORY = Path(__file__).parent
