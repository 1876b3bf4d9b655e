"""Graphs for graph ML and graph databases, built from a written dataset (``graphs/``).

``tables`` turns the files of one journal-entry block (and the master data) into node and edge
tables with string ids, properties, features and labels; ``neo4j``, ``pyg`` and ``nx`` write
them in their formats. Nothing here imports Dask: ``datasynth.runtime.graph_export`` runs
these functions as tasks.
"""
