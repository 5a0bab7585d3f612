# Setup, on Google Colab only: the cells below then run in the repo's Python 3.11 environment (docs/COLAB.md).
import sys

if "google.colab" in sys.modules:
    import os, subprocess
    release = "{release}"  # the release this notebook belongs to: cloned, or checked before anything is imported
    if not os.path.isdir("fl-tutorials"):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", release, "{repo_url}", "fl-tutorials"], check=True)
    if f'version = "{{release[1:]}}"' not in open(os.path.join("fl-tutorials", "pyproject.toml")).read():
        raise RuntimeError(f"fl-tutorials/ is not release {{release}} of these notebooks: rename or delete it, then run this cell again.")
    sys.path.insert(0, os.path.abspath("fl-tutorials"))
    from colab_bridge.provision import provision

    provision()
