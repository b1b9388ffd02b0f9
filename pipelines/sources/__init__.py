"""Sources land tables in the raw layer (pipelines.raw). One module per kind of source."""
