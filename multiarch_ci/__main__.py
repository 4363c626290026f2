"""`python -m multiarch_ci` runs the CLI."""
import sys

from multiarch_ci.frontends.cli import main

sys.exit(main())
