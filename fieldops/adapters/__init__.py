"""Adapters: the I/O around the pure core (files, store, PDF, CSV/JSON, MQTT)."""
