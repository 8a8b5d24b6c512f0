"""Strawberry types, inputs, enums, guards and the Schema object."""
