"""pytest configuration for the whole repo (unit tests and nbval over notebooks/)."""

import os

# The committed notebook outputs and accuracy thresholds come from the offline sample, so the suite
# checks that by default. `FL_DATA=emnist uv run pytest` runs the notebooks on real EMNIST instead.
os.environ.setdefault("FL_DATA", "sample")
