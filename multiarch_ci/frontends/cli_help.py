"""What each command's --help says first and last: a one-line description and an example (cli.build_parser)."""
from __future__ import annotations

from multiarch_ci.frontends.boundary import PROG

# Each command's --help: what it does (one line), then an example to start from.
ABOUT = {
    "push": ("Compose an index (manifest list) from per-arch images, wait for every one, and push it to each "
             "--target with every tag. Pick the form that names the images:",
             "push from-args --platforms linux/amd64,linux/arm64 --template ghcr.io/org/app:v1-ARCH "
             "--target ghcr.io/org/app:v1"),
    "from-spec": ("Push the index a manifest-tool style YAML spec describes (image, tags, manifests with "
                  "their platforms).", "push from-spec spec.yaml"),
    "from-args": ("Push the index of one image per platform, named by a template whose OS, ARCH and VARIANT "
                  "are filled in for each of --platforms.",
                  "push from-args --platforms linux/amd64,linux/arm64/v8 --template ghcr.io/org/app:v1-ARCH "
                  "--target ghcr.io/org/app:v1"),
    "from-matrix": ("Push the index of the images a JSON or YAML list names: one {image, digest, platform} "
                    "per build leg (digest and platform optional).",
                    "push from-matrix legs.json --target ghcr.io/org/app:v1"),
    "from-digests": ("Push the index of the images a digests folder names, the Docker docs' merge pattern: "
                     "each build leg pushes its image by digest to --target's repository and touches "
                     "DIR/<hex digest>. Digests are looked for in --target's repository only (registry and "
                     "repository, the tag aside): the legs must push there.",
                     "push from-digests digests --target ghcr.io/org/app:v1 --tags latest"),
    "inspect": ("Show an index or image: each entry's platform, digest, size and media type.",
                "inspect ghcr.io/org/app:v1"),
}


def about(name: str) -> dict:
    """add_parser's description and epilog for `name` (see ABOUT)."""
    line, example = ABOUT[name]
    return {"description": line, "epilog": f"example:\n  {PROG} {example}"}


def noting(add_parser, built: list):
    """add_parser that also notes each parser it makes in `built`."""
    def add(*args, **kw):
        built.append(add_parser(*args, **kw))
        return built[-1]
    return add
