"""Hatch build hook: bundle the TypeScript front end into realtime_nb/static/ with esbuild.

The bundle is a build output (never committed). Editable installs and wheels both run this;
set REALTIME_NB_SKIP_JS=1 to skip when the bundle is already built.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class JsBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        root = Path(self.root)
        bundle = root / "realtime_nb" / "static" / "widget.js"
        if os.environ.get("REALTIME_NB_SKIP_JS") and bundle.exists():
            return
        js = root / "js"
        if not (js / "package.json").exists():
            return
        npm = shutil.which("npm")
        if npm is None:
            if bundle.exists():
                return
            raise RuntimeError("npm is needed to build the realtime_nb front end (js/)")
        if not (js / "node_modules").exists():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=js, check=True)
        subprocess.run([npm, "run", "build"], cwd=js, check=True)
