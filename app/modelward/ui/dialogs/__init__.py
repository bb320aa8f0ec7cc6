"""Dialogs: they gather arguments and show results; the work is a core function."""
