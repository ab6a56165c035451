"""What a run costs: token counts and prices (`usage`), the budget that stops a run (`budget`),
and the dry run that estimates a run before anything is sent (`dry_run`)."""
