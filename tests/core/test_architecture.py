"""The import contracts `make lint` checks (pyproject.toml, [tool.importlinter]) stay complete."""

import pkgutil
import tomllib
from pathlib import Path

import maintenance

REPO_ROOT = Path(__file__).resolve().parents[2]
# What maintenance.optimisation may take from maintenance (README "Architecture").
OPTIMISATION_MAY_IMPORT = {"models", "selectors", "specs", "services", "optimisation"}


def _contract(name_start: str) -> dict:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["name"].startswith(name_start)]
    return contract


def test_it_forbids_optimisation_every_other_maintenance_module():
    # import-linter has no allow-list contract, so the optimisation contract lists what is
    # forbidden; a new maintenance module must be placed on one side or the other, or the
    # contract would silently let optimisation import it.
    children = {module.name for module in pkgutil.iter_modules(maintenance.__path__)}
    forbidden = {
        name.removeprefix("maintenance.")
        for name in _contract("maintenance.optimisation")["forbidden_modules"]
    }
    assert "api" in forbidden
    unplaced = sorted(children - forbidden - OPTIMISATION_MAY_IMPORT)
    assert not unplaced, f"add maintenance.{unplaced} to the optimisation contract"
    stale = sorted(forbidden - children)
    assert not stale, f"maintenance.{stale} no longer exists; drop it from the contract"
