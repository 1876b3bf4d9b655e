"""Runtime: plan -> Dask graph -> blocks written -> manifest. The only layer that imports dask."""
