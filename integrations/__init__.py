"""Adapters to outside systems: each a small Protocol with an embedded default and a network
implementation chosen by settings (ARCHITECTURE.md, "Outside systems")."""
