"""What each command's --help says first and last: a one-line description and an example (cli.build_parser)."""
from __future__ import annotations

from multiarch_ci.frontends.boundary import PROG
from multiarch_ci.sources.kinds import KINDS

# Each command's --help: what it does (one line), then an example to start from.
ABOUT = {
    "push": ("Compose an index (manifest list) from per-arch images, wait for every one, and push it to each "
             "--target with every tag. Pick the form that names the images:",
             "push from-args --platforms linux/amd64,linux/arm64 --template ghcr.io/org/app:v1-ARCH "
             "--target ghcr.io/org/app:v1"),
    **{kind.cli_form: kind.about for kind in KINDS},   # each source kind's form (sources/kinds.py)
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
