"""Build the deployable Lambda@Edge zip.

    python -m edge_function.build --out dist/edge_function.zip [--config FILE]

The zip holds the package's modules and its ``config.json`` (the bundled one,
or FILE validated and written in its place) and nothing else; Lambda@Edge
takes no environment variables, so that file is the function's settings.
Entries carry a fixed timestamp so the same sources give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile

from .config import ConfigError, validate

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.basename(PACKAGE_DIR)
MAX_BYTES = 1024 * 1024  # Lambda@Edge limit for viewer triggers; keep origin ones as small
_EXCLUDED = {"build.py"}  # a build tool, not part of the function
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


class BuildError(Exception):
    pass


def _modules() -> list[str]:
    return sorted(name for name in os.listdir(PACKAGE_DIR) if name.endswith(".py") and name not in _EXCLUDED)


def build(out: str, config_path: str | None = None, max_bytes: int = MAX_BYTES) -> dict:
    source = config_path or os.path.join(PACKAGE_DIR, "config.json")
    try:
        with open(source, encoding="utf-8") as fh:
            config = json.load(fh)
        if not isinstance(config, dict):
            raise ConfigError("config must be a JSON object")
        validate(config)
    except (OSError, ValueError) as exc:
        raise BuildError(f"{source}: {exc}") from exc
    if config.get("endpoint_url") or config.get("endpoint_urls"):
        # A local endpoint baked into a real deployment would send every lookup nowhere.
        print(
            f"warning: {source} sets a DynamoDB endpoint; fine locally, wrong for AWS",
            file=sys.stderr,
        )

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in _modules():
            with open(os.path.join(PACKAGE_DIR, name), "rb") as fh:
                _write(zf, f"{PACKAGE}/{name}", fh.read())
        _write(zf, f"{PACKAGE}/config.json", (json.dumps(config, indent=2) + "\n").encode())
    size = os.path.getsize(tmp)
    if size > max_bytes:
        os.unlink(tmp)
        raise BuildError(f"zip is {size} bytes, over the {max_bytes}-byte limit")
    os.replace(tmp, out)
    return {"path": out, "bytes": size}


def _write(zf: zipfile.ZipFile, arcname: str, data: bytes) -> None:
    info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge_function.build", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        required=True,
        help="where to write the zip, e.g. dist/edge_function.zip",
    )
    parser.add_argument("--config", help="JSON config to bake in instead of edge_function/config.json")
    args = parser.parse_args(argv)
    try:
        result = build(args.out, args.config)
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {result['path']} ({result['bytes']} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
