"""Tests of the asset domains of glass_assets, one folder per domain: their assets, checks and tables."""
