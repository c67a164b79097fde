"""What staff see in the Prefect UI: case files, the task list, domain events."""
