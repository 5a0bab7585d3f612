"""The studies behind the notebooks' claims: runs repeated over seeds or executions, whose JSON the notebooks cite."""
