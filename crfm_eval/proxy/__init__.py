"""Model access: the Service, its cache and the model clients (and, later, the HTTP proxy)."""
