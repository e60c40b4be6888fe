"""What to spend next: plan response, forecasts, the 70/20/10 policy and the budget optimiser."""
