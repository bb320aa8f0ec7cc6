"""Qt item models: thin adapters over core queries (paged, loaded off the GUI thread)."""
