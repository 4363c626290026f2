"""Entry point of the GitHub Action's container: inputs arrive as INPUT_* environment variables.

In a GitLab job, or given arguments, it says how to run the command line instead (exit 2)."""
import os
import sys

from multiarch_ci.frontends.boundary import guarded
from multiarch_ci.frontends.gitlab import not_the_action
from multiarch_ci.frontends.output import Console


def in_github() -> int:
    not_the_action(os.environ, sys.argv[1:])
    return 0


code = guarded(in_github, Console(sys.stdout, sys.stderr), debug=False)
if code:
    sys.exit(code)

from multiarch_ci.frontends.boundary import leave  # noqa: E402
from multiarch_ci.frontends.github import main  # noqa: E402  (the action's code, once it is the action)

leave(main(os.environ))
