"""The export runner: moves images' bytes from the cloud to s3:// and https:// targets
(see docs/export.md)."""
