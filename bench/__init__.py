"""Benchmarks run by hand against a scratch PostgreSQL database."""
