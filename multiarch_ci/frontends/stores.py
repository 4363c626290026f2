"""The one place a reference's store is chosen: a registry's (registry/store.py) or an OCI layout's
(layout/stores.py). The front end hands this to the flow as its `Stores` (flow/store.py); the flow never
asks which kind of store it holds.

One RegistryStore per registry host, all on the run's RegistryClient; one LayoutStore per layout path
(by its real path), so a layout is opened once per run and shared by every chain. Before any request,
`prepare` opens and checks every layout a plan names (bad input, exit 2) and plans the registry logins.
"""
from __future__ import annotations

import os
import threading

from multiarch_ci.core.errors import MultiarchError
from multiarch_ci.core.location import LayoutRef, same_registry
from multiarch_ci.core.plan import PushPlan
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.layout.stores import LayoutStore
from multiarch_ci.registry.client import RegistryClient, pull, push
from multiarch_ci.registry.store import RegistryStore


class Stores:
    """The store of each reference: a layout's for `oci-layout://`, else its registry's."""

    def __init__(self, client: RegistryClient):
        self.client = client
        self._registries: dict[str, RegistryStore] = {}
        self._layouts: dict[str, LayoutStore] = {}
        self._lock = threading.Lock()

    def __call__(self, ref: ImageRef | LayoutRef) -> RegistryStore | LayoutStore:
        with self._lock:
            if isinstance(ref, LayoutRef):
                key = os.path.realpath(ref.path)
                if key not in self._layouts:
                    self._layouts[key] = LayoutStore(ref.path)
                return self._layouts[key]
            if ref.registry not in self._registries:
                self._registries[ref.registry] = RegistryStore(self.client, ref.registry)
            return self._registries[ref.registry]

    def close(self) -> None:
        """The run is over: each store finishes what it staged (a `.tar` layout target is packed)."""
        with self._lock:
            layouts = list(self._layouts.values())
        failed = None
        for store in layouts:
            try:
                store.close()
            except MultiarchError as e:
                failed = failed or e
        if failed is not None:
            raise failed

    def bounded(self, seconds: float):
        """Registry requests this thread sends inside the block end within `seconds` (a layout is files)."""
        return self.client.transport.bounded(seconds)

    def prepare(self, plan: PushPlan, dry_run: bool) -> None:
        """Open every layout the plan names and resolve each layout source (or raise InputError); then the
        logins the plan's registries will need."""
        if isinstance(plan.target, LayoutRef):
            self._layout(plan.target).check_target(plan.target)
        for spec in plan.sources:
            if isinstance(spec.ref, LayoutRef):
                self._layout(spec.ref).check_source(spec)
        self._plan_scopes(plan, dry_run)

    def _layout(self, ref: LayoutRef) -> LayoutStore:
        store = self(ref)
        assert isinstance(store, LayoutStore)
        return store

    def _plan_scopes(self, plan: PushPlan, dry_run: bool) -> None:
        """Scopes that are used together share a token: the target's with each same-registry source
        (a mount needs both); a source on another registry only needs pull there. Layouts need none."""
        target = None
        if isinstance(plan.target, ImageRef):
            target = push(plan.target) if not dry_run else pull(plan.target)  # a dry run only reads
            self.client.auth.plan_scopes(plan.target.registry, {target})
        for ref in [s.ref for s in plan.sources if isinstance(s.ref, ImageRef)]:
            together = {target, pull(ref)} if target is not None and same_registry(ref, plan.target) else {pull(ref)}
            self.client.auth.plan_scopes(ref.registry, together)
        for more in plan.also:   # several targets: each its own push scope, with the sources on its registry
            scope = push(more) if not dry_run else pull(more)
            self.client.auth.plan_scopes(more.registry, {scope, *(pull(s.ref) for s in plan.sources
                                                                  if isinstance(s.ref, ImageRef)
                                                                  and same_registry(s.ref, more))})
