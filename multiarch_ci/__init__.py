"""multiarch-manifest: compose and push multi-arch manifest lists / OCI image indexes."""

__version__ = "1.0.0"
