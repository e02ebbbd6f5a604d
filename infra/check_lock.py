#!/usr/bin/env python3
"""Checks Cargo.lock and the workspace's rust-version.

- rustls with ring is Enshu's one TLS stack: no OpenSSL, aws-lc or
  native-tls crate may enter Cargo.lock, nor fuzz/Cargo.lock (the fuzz
  crate is a workspace of its own with its own lock; a dependency's
  default features pull them in easily).
- One true MSRV: the workspace's `rust-version` must be at least the
  highest `rust-version` any locked dependency declares.

Usage: python3 infra/check_lock.py [WORKSPACE_DIR]  (exit 1 on a problem)
"""

import json
import pathlib
import subprocess
import sys
import tomllib

FORBIDDEN = (
    "openssl",
    "openssl-sys",
    "openssl-src",
    "native-tls",
    "tokio-native-tls",
    "hyper-tls",
    "aws-lc-rs",
    "aws-lc-sys",
    "aws-lc-fips-sys",
)


def version_tuple(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = []

    for name in ("Cargo.lock", "fuzz/Cargo.lock"):
        path = root / name
        if not path.exists():
            problems.append(f"{name}: missing (commit the lock file)")
            continue
        lock = tomllib.loads(path.read_text(encoding="utf-8"))
        for package in lock.get("package", []):
            if package["name"] in FORBIDDEN:
                manifest_dir = path.parent.relative_to(root)
                problems.append(
                    f"{name}: {package['name']} {package['version']} is locked; "
                    "rustls with ring is the one TLS stack (find who pulls it in with "
                    f"`cargo tree --manifest-path {manifest_dir / 'Cargo.toml'} -i {package['name']}`)"
                )

    manifest = tomllib.loads((root / "Cargo.toml").read_text(encoding="utf-8"))
    declared = manifest["workspace"]["package"]["rust-version"]
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            cwd=root,
            check=True,
            capture_output=True,
        ).stdout
    )
    needed = max(
        (
            (version_tuple(package["rust_version"]), package["name"])
            for package in metadata["packages"]
            if package.get("source") and package.get("rust_version")
        ),
        default=((0, 0, 0), ""),
    )
    if version_tuple(declared) < needed[0]:
        problems.append(
            f"Cargo.toml: workspace.package.rust-version {declared} is older than "
            f"{'.'.join(map(str, needed[0]))}, which {needed[1]} needs"
        )

    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"check_lock: no OpenSSL/aws-lc/native-tls crate in Cargo.lock or fuzz/Cargo.lock; MSRV {declared} covers every dependency")
    return 0


if __name__ == "__main__":
    sys.exit(main())
