"""What a fitted model says: contributions, returns, fit quality, calibration and validation, as typed results."""
