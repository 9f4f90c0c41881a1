"""Makes PyPI's torch importable on a CPU-only libtorch install (scripts/setup-libtorch's `cpu`
flavour), so that the Python benchmarks run the very libtorch_cpu.so that sparq links.

torch's Python extension links the CUDA libraries (cuDNN, cuBLAS, NCCL, ...) that the `cpu`
flavour leaves out to save 3+ GB, although no CPU op ever calls them. For each library the
loader cannot find, this writes a stand-in with the same soname, the same symbol versions and
every symbol torch imports from it; each symbol aborts with a message if it is ever called, so a
benchmark can never silently run through one. Point LD_LIBRARY_PATH at the output directory for
the Python processes only.

    python cuda_stubs.py TORCH_DIR OUT_DIR
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path


def die(msg):
    print(f"cuda_stubs: {msg}", file=sys.stderr)
    sys.exit(1)


def tool(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        die(f"{' '.join(cmd)} failed: {getattr(e, 'stderr', '') or e}".strip())


def closure(entry):
    """(libraries ldd resolves, sonames it cannot find) for `entry` and its dependencies."""
    found, missing = {}, set()
    for line in tool("ldd", str(entry)).splitlines():
        m = re.match(r"\s*(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$", line)
        if not m:
            continue
        name, where = m.groups()
        if where.strip() == "not found":
            missing.add(name)
        else:
            found[name] = Path(where.strip())
    return found, missing


def dyn_syms(lib):
    """(undefined non-weak symbols as (name, version or None), defined symbol names)."""
    undefined, defined = set(), set()
    for line in tool("readelf", "-W", "--dyn-syms", str(lib)).splitlines():
        f = line.split()
        if len(f) < 8 or not f[0].endswith(":"):
            continue
        bind, ndx, full = f[4], f[6], f[7]
        name, _, version = full.partition("@")
        version = version.lstrip("@").split(" ")[0] or None
        if ndx == "UND":
            if bind != "WEAK" and name:
                undefined.add((name, version))
        else:
            defined.add(name)
    return undefined, defined


def version_files(lib):
    """Version name -> the file that must define it, from the library's version needs."""
    out, current = {}, None
    for line in tool("readelf", "-W", "-V", str(lib)).splitlines():
        m = re.search(r"File: (\S+)", line)
        if m:
            current = m.group(1)
            continue
        m = re.search(r"Name: (\S+)\s+Flags", line)
        if m and current:
            out[m.group(1)] = current
    return out


def main():
    if len(sys.argv) != 3:
        die("usage: cuda_stubs.py TORCH_DIR OUT_DIR")
    torch_dir, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    entries = sorted(torch_dir.glob("_C*.so"))
    if not entries:
        die(f"no torch/_C*.so under {torch_dir}")
    found, missing = closure(entries[0])
    if not missing:
        return
    libs = [entries[0]] + [p for p in found.values() if p.is_relative_to(torch_dir.parent)]

    per_lib = {soname: {} for soname in missing}  # soname -> {symbol: version or None}
    provided, loose = set(), set()
    for lib in libs:
        undefined, defined = dyn_syms(lib)
        provided |= defined
        files = version_files(lib)
        for name, version in undefined:
            target = files.get(version) if version else None
            if target in missing:
                per_lib[target][name] = version
            elif version is None:
                loose.add(name)
    # System libraries (libc, libstdc++, ...) define the rest of the unversioned imports.
    for path in found.values():
        if not path.is_relative_to(torch_dir.parent):
            provided |= dyn_syms(path)[1]
    loose -= provided
    loose -= {s for syms in per_lib.values() for s in syms}
    # Unversioned imports bind to any loaded library: put them in the first stand-in.
    home = sorted(missing)[0]
    for name in loose:
        per_lib[home].setdefault(name, None)

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for soname, syms in sorted(per_lib.items()):
            c, vmap = Path(tmp, "stub.c"), Path(tmp, "stub.map")
            lines = ["#include <stdio.h>", "#include <stdlib.h>",
                     "static void fail(const char *s) {",
                     f'  fprintf(stderr, "sparq bench: CUDA stand-in %s ({soname}) was called; this torch has no CUDA libraries\\n", s);',
                     "  abort();", "}"]
            for i, name in enumerate(sorted(syms)):
                lines.append(f'void stub_{i}(void) __asm__("{name}");')
                lines.append(f'void stub_{i}(void) {{ fail("{name}"); }}')
            c.write_text("\n".join(lines) + "\n")
            versions = sorted({v for v in syms.values() if v})
            if versions:
                # Unversioned imports go under the first node; each node lists its own symbols.
                blocks = []
                for k, v in enumerate(versions):
                    names = sorted(n for n, sv in syms.items() if sv == v or (sv is None and k == 0))
                    body = "".join(f' "{n}";' for n in names)
                    blocks.append(f"{v} {{ global:{body} }};")
                vmap.write_text("\n".join(blocks) + "\n")
            cmd = ["cc", "-shared", "-fPIC", "-O0", "-o", str(out_dir / soname), f"-Wl,-soname,{soname}", str(c)]
            if versions:
                cmd.insert(-1, f"-Wl,--version-script={vmap}")
            tool(*cmd)
    print(f"cuda_stubs: {len(per_lib)} CUDA stand-ins in {out_dir}: {', '.join(sorted(per_lib))}", file=sys.stderr)


if __name__ == "__main__":
    main()
