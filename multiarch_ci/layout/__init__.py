"""OCI image layouts (https://github.com/opencontainers/image-spec/blob/main/image-layout.md) as sources and targets."""
