"""Training and evaluation for Autochrome generators (no Qt here)."""
