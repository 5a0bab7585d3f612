"""`uv run python -m tools.site`: build the course site into build/site/."""

import sys

from tools.site import main

sys.exit(main())
