"""Local fake servers speaking the real wire formats of the providers and platforms."""
