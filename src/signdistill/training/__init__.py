"""One training loop for every method: named losses, schedules, AMP, checkpoints, resume (no Kedro)."""
