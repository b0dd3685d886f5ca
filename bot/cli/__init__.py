"""The command line and the wiring: the only place that assembles the core, storage, providers and adapters."""
