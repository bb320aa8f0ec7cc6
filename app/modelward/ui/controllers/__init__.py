"""Controllers of the main window: they own pages and run work, actions come from actions."""
