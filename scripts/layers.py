#!/usr/bin/env python3
"""Dependencies flow one way, and no two files import each other (run by scripts/lint.sh).

1. Crates: each workspace crate's normal [dependencies] on other workspace crates must point to a
   lower layer (LAYERS, top first). Dev-dependencies are free (tests may use anything).
2. Files: inside a crate, a file that names another (`crate::a::b`, `super::x`, `self::x` in a
   module directory) depends on it; no two files may depend on each other. A parent module that
   only declares or re-exports its children (`mod x;`, `pub use x::Y;`) does not depend on them:
   the re-export is the children's public face, not a use.

Exit 1 listing every violation, 0 when both hold.
"""
import os
import re
import sys

from iam_check import strip_rust as strip  # comments and test modules out, as the IAM check does

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Top first; a crate may depend only on crates in later layers.
LAYERS = [
    {"tripline-functions", "tripline-cli"},
    {"tripline-runtime"},
    {"tripline-store", "tripline-alerts"},
    {"tripline-sigma"},
    {"tripline-dsl", "tripline-normalize"},
    {"tripline-event"},
]
TEST_ONLY = {"tripline-testkit"}


def crates():
    out = {}
    for d in [os.path.join(ROOT, "crates", x) for x in sorted(os.listdir(os.path.join(ROOT, "crates")))] + [
        os.path.join(ROOT, "functions")
    ]:
        toml = os.path.join(d, "Cargo.toml")
        if os.path.exists(toml):
            text = open(toml).read()
            name = re.search(r'^name\s*=\s*"([^"]+)"', text, re.M).group(1)
            out[name] = (d, text)
    return out


def normal_deps(text, names):
    m = re.search(r"^\[dependencies\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    body = m.group(1) if m else ""
    return {n for n in names if re.search(rf"^{re.escape(n)}\s*(\.|=)", body, re.M)}


def layer_of(name):
    for i, layer in enumerate(LAYERS):
        if name in layer:
            return i
    return None


def module_files(src):
    """{module path tuple: file} for a crate's src/ (bin/ excluded)."""
    mods = {}
    for dp, dns, fns in os.walk(src):
        dns[:] = [d for d in dns if d != "bin"]
        for f in fns:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dp, f), src)[:-3].split(os.sep)
            if rel[-1] in ("lib", "main", "mod"):
                rel = rel[:-1]
            mods[tuple(rel)] = os.path.join(dp, f)
    return mods


def file_deps(path, mod, mods):
    text = strip(open(path).read())
    if path.endswith(("lib.rs", "mod.rs")):
        # A module root's `pub use` lines (its prelude, its re-exports) are its public face.
        text = re.sub(r"^\s*pub(\([^)]*\))?\s+use\s+[^;]*;", "", text, flags=re.M | re.S)
    # A parent's `mod x;` and `pub use x::...;` are declarations, not uses.
    text = re.sub(r"^\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*;", "", text, flags=re.M)
    text = re.sub(r"^\s*pub(\([^)]*\))?\s+use\s+(self::)?\w+(::\{[^}]*\}|::[\w:*]+)?\s*;", "", text, flags=re.M | re.S)
    deps = set()
    for m in re.finditer(r"\b(crate|super|self)((?:::\w+)+)", text):
        base, rest = m.group(1), [p for p in m.group(2).split("::") if p]
        if base == "crate":
            target = []
        elif base == "super":
            target = list(mod[:-1]) if path.endswith(("mod.rs", "lib.rs")) is False else list(mod[:-1])
        else:
            target = list(mod)
        # the longest prefix that is a module file
        best = None
        for k in range(len(rest), -1, -1):
            cand = tuple(target + rest[:k])
            if cand in mods:
                best = cand
                break
        if best is not None and best != mod:
            deps.add(best)
    return deps


def main():
    problems = []
    cs = crates()
    names = set(cs)
    for name, (d, text) in cs.items():
        mine = layer_of(name)
        for dep in sorted(normal_deps(text, names)):
            if dep in TEST_ONLY:
                problems.append(f"{name} depends on the test-only {dep} outside [dev-dependencies]")
                continue
            theirs = layer_of(dep)
            if mine is None or theirs is None:
                problems.append(f"{name} -> {dep}: add both to scripts/layers.py LAYERS")
            elif theirs <= mine:
                problems.append(f"{name} (layer {mine}) depends on {dep} (layer {theirs}): dependencies flow down only")
        mods = module_files(os.path.join(d, "src"))
        graph = {m: file_deps(f, m, mods) for m, f in mods.items()}
        for a, ds in graph.items():
            for b in ds:
                if a < b and a in graph.get(b, set()):
                    problems.append(f"{name}: {mods[a]} and {mods[b]} import each other")
    for p in problems:
        print(f"layers: {os.path.relpath(p, ROOT) if os.path.isabs(p) else p}")
    if problems:
        print(f"layers: {len(problems)} problem(s)")
        return 1
    print(f"layers: {len(cs)} crates flow one way; no two files import each other")
    return 0


if __name__ == "__main__":
    sys.exit(main())
