"""Entry point of the GitHub Action's container: inputs arrive as INPUT_* environment variables."""
import os
import sys

from multiarch_ci.frontends.github import main

sys.exit(main(os.environ))
