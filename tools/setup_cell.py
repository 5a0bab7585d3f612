# Setup: on Google Colab this installs the pinned environment; locally, `uv run jupyter lab` already did.
import sys

if "google.colab" in sys.modules:
    import os
    import platform
    import subprocess

    REPO_URL = "{repo_url}"
    CHECKOUT = "/content/fl-tutorials"
    if sys.version_info[:2] > (3, 11) or platform.machine() != "x86_64":
        raise SystemExit(
            "TensorFlow Federated 0.87 needs Python 3.9-3.11 on Linux x86_64; this Colab runtime is "
            f"Python {{sys.version_info[0]}}.{{sys.version_info[1]}} on {{platform.machine()}}. Two ways that work:\n"
            "  1. Command Palette (Ctrl+Shift+P) > 'Change runtime version' > 2025.07 (Python 3.11), then run "
            "this cell again. Colab does not keep that choice between sessions.\n"
            "  2. Connect Colab to a local runtime started from a clone of this repo (README > Colab)."
        )
    if not os.path.isdir(CHECKOUT):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", REPO_URL, CHECKOUT], check=True)
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        subprocess.run(pip + ["-r", f"{{CHECKOUT}}/requirements.txt"], check=True)
        subprocess.run(pip + ["-e", CHECKOUT], check=True)
        raise SystemExit(
            "Installed. Restart the session now (Runtime > Restart session): the pinned numpy 1.25 "
            "replaced Colab's numpy 2.x, which stays loaded until a restart. Then run all cells."
        )
    os.chdir(f"{{CHECKOUT}}/notebooks")
