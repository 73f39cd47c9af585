"""The line every bench prints beside its timings: which CPU (the two kinds here differ ~3x), how many cores,
and how busy the machine was when the bench started."""

from __future__ import annotations

import os
import platform


def describe() -> str:
    """e.g. "AMD EPYC (AVX2, no AVX-512), 2 cores, load average 0.1 at start"."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name in ("", platform.machine(), platform.processor()):
                    name = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    vector = "AVX-512" if "avx512f" in flags else "AVX2, no AVX-512" if "avx2" in flags else None
    amx = ", AMX" if "amx_tile" in flags else ""
    load = f", load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    return f"{name}{f' ({vector}{amx})' if vector else ''}, {os.cpu_count()} cores{load}"


if __name__ == "__main__":
    print(describe())
