"""Shared foundations every stage uses: errors, constants, the interval helper and the outcome vocabulary."""
