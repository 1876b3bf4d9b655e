"""Generators: pure, vectorised functions from (config, master data, block, rng) to Arrow tables."""
