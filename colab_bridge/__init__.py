"""Run the notebooks on Google Colab in this repo's own Python 3.11 environment (docs/COLAB.md)."""
