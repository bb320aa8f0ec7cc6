"""Content-addressed artifact store, format triage and safe loading."""
