"""The HTTP application: assembles every domain's endpoints under /api/v1."""
