"""Read and check the analyst's files (data, lift tests, plans, bounds) into named-dimension inputs."""
