"""Accelerator slices: the device catalog, MIG geometry, inventories, the request grammar,
placement policies and the trace simulator. Pure domain code: no HTTP, no database."""
