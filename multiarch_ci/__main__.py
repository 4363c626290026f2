"""`python -m multiarch_ci` runs the CLI."""
from multiarch_ci.frontends.boundary import leave
from multiarch_ci.frontends.cli import main

leave(main())
