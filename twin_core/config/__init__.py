"""Configuration: ``compose`` (the one Hydra compose helper), ``loader`` (typed settings), ``errors``."""
