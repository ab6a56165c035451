"""Model clients: one class per way of reaching a model."""
