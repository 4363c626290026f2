"""How each front end names its settings to the user: the CLI's flags, the action's inputs.

One `Labels` per front end serves both the settings builder (which names the setting a bad value came
from) and the error boundary (which renders the neutral `errors.setting(...)` names deeper layers write).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True, slots=True)
class Labels:
    """Each setting as the user wrote it; `extra` names what only messages from deeper layers mention."""

    target: str = "--target"
    tags: str = "--tags"
    annotations: str = "--annotation"
    platforms: str = "--platforms"
    template: str = "--template"
    platform_filter: str = "--platform-filter"
    semver: str = "--semver"
    format: str = "--format"
    wait_timeout: str = "--wait-timeout"
    require: str = "--require"
    remove: str = "--remove"
    ignore_missing: str = "--ignore-missing"
    dry_run: str = "--dry-run"
    insecure: str = "--insecure"
    insecure_registry: str = "--insecure-registry"
    referrers: str = "--referrers"
    attestations: str = "--attestations"
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __call__(self, name: str) -> str:
        """A setting's label by its neutral name (`platform-filter`)."""
        return str(getattr(self, name.replace("-", "_")))

    def names(self) -> dict[str, str]:
        """For errors.setting(): each setting's label under its neutral name, `extra` overriding."""
        return {f.name.replace("_", "-"): getattr(self, f.name) for f in fields(self) if f.name != "extra"} \
            | dict(self.extra)


# A platform filter that failed in the flow may have come from the option or from an entry's platforms key.
CLI_LABELS = Labels(extra=(("platform-filter", "--platform-filter or the entry's platforms"),))

# The action has no platform-filter or remove input (a matrix entry's platforms key filters).
ACTION_LABELS = Labels(target="input target", tags="input tags", annotations="input annotations",
                       platforms="input platforms", template="input template", semver="input semver",
                       format="input format", wait_timeout="input wait-timeout", require="input required-platforms",
                       ignore_missing="input ignore-missing", dry_run="input dry-run", insecure="input insecure",
                       insecure_registry="input insecure-registries", referrers="input referrers",
                       attestations="input attestations",
                       extra=(("platform-filter", "the platforms key of the matrix entry"),))
