"""Tests of the platform: definitions, automation, daemon, launchers, warehouse, registry, provenance, UIs, demo."""
