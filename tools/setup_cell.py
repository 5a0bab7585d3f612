# Setup, on Google Colab only: the cells below then run in the repo's Python 3.11 environment (docs/COLAB.md).
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    if not os.path.isdir("fl-tutorials"):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "{repo_url}", "fl-tutorials"], check=True)
    sys.path.insert(0, os.path.abspath("fl-tutorials"))
    from colab_bridge.provision import provision

    provision()
