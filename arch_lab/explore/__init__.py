"""Design-space exploration: spaces, sampling, the result table, measurement and latency estimates."""
