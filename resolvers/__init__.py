"""Everything that reads or writes the database, one module per domain, plus data loaders."""
