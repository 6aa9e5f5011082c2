"""The HTTP API: FastAPI app, middleware, problem+json errors, and the routers of every module."""
