#!/usr/bin/env python3
"""Regenerates the flag tables of docs/OPERATIONS.md from each executable's
--help (between the '<!-- flags:begin -->' and '<!-- flags:end -->' markers).

usage: gen_flags_doc.py BIN_DIR
"""
import os, re, subprocess, sys

EXECUTABLES = ["atrest-identity", "atrest-keyvault", "atrest-frontdoor", "atrest-worker", "atrest-recover", "atrest-nbd", "atrest-fuse-passthrough"]
bin_dir = sys.argv[1]
doc_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "OPERATIONS.md")

def options(exe):
    out = subprocess.run([os.path.join(bin_dir, exe), "--help"], capture_output=True, text=True).stdout
    body = out.split("OPTIONS:", 1)[1]
    entries, current = [], None
    for line in body.splitlines():
        m = re.match(r"^  (--[a-z0-9-]+)(?: <[^>]+>)?\s*(.*)$", line)
        if m:
            current = [m.group(1), m.group(2).strip()]
            entries.append(current)
        elif current and line.startswith("    "):
            current[1] += " " + line.strip()
        elif line.startswith("  -h, --help"):
            current = None
    rows = []
    for flag, text in entries:
        default = ""
        d = re.search(r"\(default: (.*?)\)\s*$", text)
        if d:
            default, text = d.group(1), text[:d.start()].strip()
        rows.append((flag, default, text.strip().replace("|", "\\|")))
    return rows

parts = []
for exe in EXECUTABLES:
    parts.append(f"### {exe}\n\n| flag | default | meaning |\n|---|---|---|")
    for flag, default, text in options(exe):
        parts.append(f"| `{flag}` | {('`' + default + '`') if default else '—'} | {text} |")
    parts.append("")
table = "\n".join(parts)
doc = open(doc_path).read()
new = re.sub(r"(<!-- flags:begin -->\n).*?(<!-- flags:end -->)", lambda m: m.group(1) + table + m.group(2), doc, flags=re.S)
open(doc_path, "w").write(new)
print("updated", doc_path)
