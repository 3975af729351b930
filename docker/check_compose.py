#!/usr/bin/env python3
"""Static check of docker/: no Docker engine runs on the build machines, so
this proves what it can without one. compose.yaml parses; every role it runs
exists in entrypoint.sh; every flag the entrypoint and health check pass
exists in that executable's --help; every executable and plug-in they name is
built and copied by the Dockerfile; every port bound is exposed and every port
exposed is bound; every path used is on a volume of that service; named
volumes are declared; workers can be scaled (no fixed name, no host port).
Monitoring: Prometheus scrapes each service on the --metrics-listen port its
role binds, its alert rules and the Grafana dashboard use only metrics listed
in docs/OPERATIONS.md, and every file they mount exists.

usage: check_compose.py BIN_DIR     (BIN_DIR: the built executables, e.g. .build/debug)
Prints one line per check and 'N passed, N failed'; exit 1 on any failure.
"""
import os, re, subprocess, sys
import yaml

here = os.path.dirname(os.path.abspath(__file__))
bin_dir = sys.argv[1]
passed, failed = 0, 0

def check(ok, what):
    global passed, failed
    print(("ok    " if ok else "FAIL  ") + what)
    if ok: passed += 1
    else: failed += 1

def text(name):
    with open(os.path.join(here, name)) as f: return f.read()

compose = yaml.safe_load(text("compose.yaml"))
entry, health, dockerfile = text("entrypoint.sh"), text("healthcheck.sh"), text("Dockerfile")
package = open(os.path.join(here, "..", "Package.swift")).read()
services = compose.get("services", {})
monitoring = {"prometheus", "grafana"}
check(set(services) == {"init", "identity", "vault", "frontdoor", "worker"} | monitoring,
      "compose runs init, identity, vault, frontdoor, worker, prometheus, grafana")

help_cache = {}
def flags_of(command):
    if command not in help_cache:
        out = subprocess.run([os.path.join(bin_dir, command[0])] + list(command[1:]) + ["--help"], capture_output=True, text=True)
        help_cache[command] = set(re.findall(r"(--[a-z][a-z0-9-]*)", out.stdout + out.stderr))
    return help_cache[command]

# Role blocks of the entrypoint: `name)` ... `;;`
roles = dict(re.findall(r"^(\w+)\)\n(.*?)^  ;;", entry, re.S | re.M))
metrics_ports = {}
for name, svc in services.items():
    if name in monitoring: continue
    role = (svc.get("command") or [None])[0]
    check(role in roles, f"{name}: role '{role}' exists in entrypoint.sh")
    block = roles.get(role, "")
    mounts = [v.split(":")[1] for v in svc.get("volumes", [])]
    for v in svc.get("volumes", []):
        check(v.split(":")[0] in (compose.get("volumes") or {}), f"{name}: volume '{v.split(':')[0]}' is declared")
    # Executables and their flags.
    for exe, args in re.findall(r"exec (atrest[\w-]*) \\\n(.*?)\"\$@\"", block, re.S):
        check(os.access(os.path.join(bin_dir, exe), os.X_OK), f"{name}: {exe} is built")
        check(f"for b in atrest atrest-identity atrest-keyvault atrest-frontdoor atrest-worker" in dockerfile and exe in dockerfile,
              f"{name}: Dockerfile copies {exe}")
        check(f'name: "{exe}"' in package, f"{name}: {exe} is a product of Package.swift")
        known = flags_of((exe,))
        for flag in sorted(set(re.findall(r"(--[a-z][a-z0-9-]*)", args))):
            check(flag in known, f"{name}: {exe} takes {flag}")
        # Ports: bound ones are exposed (or published); exposed ones are bound.
        bound = set(re.findall(r"tcp://0\.0\.0\.0:(\d+)", args))
        metrics = re.findall(r"--metrics-listen 0\.0\.0\.0:(\d+)", args)
        check(len(metrics) == 1, f"{name}: serves metrics and health (--metrics-listen 0.0.0.0:PORT)")
        metrics_ports[name] = metrics[0] if metrics else None
        bound |= set(metrics)
        exposed = {str(p) for p in svc.get("expose", [])} | {str(p).split(":")[-1] for p in svc.get("ports", [])}
        check(bound == exposed, f"{name}: ports bound {sorted(bound)} == exposed/published {sorted(exposed)}")
        # Paths: data directories, keys and credentials are on this service's volumes.
        paths = set(re.findall(r"(/data/[\w-]+)", args))
        paths |= {"/keys"} if "$KEYS" in args else set()
        paths |= {"/credentials"} if "$CRED" in args else set()
        for path in sorted(paths):
            check(any(path == m or path.startswith(m + "/") for m in mounts),
                  f"{name}: {path} is on a volume ({mounts})")
        plugin = re.search(r"--plugin-dir (\S+)", args)
        if plugin:
            check(f"COPY --from=build /out/plugins/ {plugin.group(1)}/" in dockerfile,
                  f"{name}: Dockerfile puts the plug-ins in --plugin-dir {plugin.group(1)}")
            for lib in ["libKeyProviderManaged.so", "libKeyProviderCustomer.so", "libKeyProviderRevokedTest.so"]:
                check(os.path.exists(os.path.join(bin_dir, lib)) and f".build/release/{lib}" in dockerfile,
                      f"{name}: plug-in {lib} is built and copied")
    # Health checks: `atrest status` for this role.
    hc = svc.get("healthcheck", {}).get("test", [])
    if name != "init":
        check(len(hc) >= 3 and hc[1] == "/usr/local/bin/atrest-healthcheck" and re.search(rf"^{hc[2]}\)", health, re.M) is not None,
              f"{name}: health check runs atrest-healthcheck {hc[2] if len(hc) > 2 else '?'}")
    # Every path the service writes to: a dir the image creates and chowns.
    for m in mounts:
        check(m in dockerfile, f"{name}: the image creates {m} (owned by the service user)")

check("ports" not in services["worker"] and "container_name" not in services["worker"], "worker: scalable (no host port, no fixed name)")
check(all(p not in services["worker"].get("expose", []) for p in ["7430"]), "worker: status endpoint stays inside its container")
for line in re.findall(r"exec atrest status (.*)", health):
    known = flags_of(("atrest", "status"))
    for flag in sorted(set(re.findall(r"(--[a-z][a-z0-9-]*)", line))):
        check(flag in known, f"healthcheck: atrest status takes {flag}")
check("--status-endpoint tcp://127.0.0.1:7430" in entry and "tcp://127.0.0.1:7430" in health, "worker health check asks the worker's status endpoint")
check("atrest curve keygen" in entry and "--help" not in entry and os.access(os.path.join(bin_dir, "atrest"), os.X_OK),
      "init: atrest curve keygen is built")
for copied in ["docker/entrypoint.sh", "docker/healthcheck.sh"]:
    check(f"COPY {copied}" in dockerfile and os.path.exists(os.path.join(here, "..", copied)), f"Dockerfile copies {copied}")
check(re.search(r"FROM swift:6[.\d]*-bookworm AS build", dockerfile) is not None and "FROM debian:bookworm-slim" in dockerfile,
      "Dockerfile: swift 6 build stage, bookworm-slim runtime")
for lib in ["libzmq5", "libprotobuf-c1", "libssl3"]:
    check(lib in dockerfile, f"runtime installs {lib}")
check("/usr/lib/swift/linux" in dockerfile, "runtime has the Swift runtime libraries")

# Monitoring: Prometheus scrapes every role on its metrics port; alerts and dashboard use documented metrics.
prometheus = yaml.safe_load(text("prometheus.yml"))
targets = {}
for job in prometheus.get("scrape_configs", []):
    for static in job.get("static_configs", []):
        for target in static.get("targets", []):
            host, port = target.rsplit(":", 1)
            targets[host] = port
    for sd in job.get("dns_sd_configs", []):
        for host in sd.get("names", []):
            targets[host] = str(sd.get("port"))
for name in ["identity", "vault", "frontdoor", "worker"]:
    check(name in targets and targets[name] == metrics_ports.get(name), f"prometheus scrapes {name} on its metrics port {metrics_ports.get(name)}")
check(prometheus.get("rule_files") == ["/etc/prometheus/alerts.yml"], "prometheus loads the alert rules")
for name in sorted(monitoring):
    for v in services[name].get("volumes", []):
        source = v.split(":")[0]
        if source.startswith("./"):
            check(os.path.exists(os.path.join(here, source)), f"{name}: mounted {source} exists")
        else:
            check(source in (compose.get("volumes") or {}), f"{name}: volume '{source}' is declared")
    for port in services[name].get("ports", []):
        check(str(port).startswith("127.0.0.1:"), f"{name}: host port {port} on loopback only")
alerts = yaml.safe_load(text("alerts.yml"))
rules = [r for g in alerts.get("groups", []) for r in g.get("rules", [])]
check({"AtRestWorkersGone", "AtRestKeyDenialsSpiking", "AtRestFsyncSlow"} <= {r.get("alert") for r in rules},
      "alerts: workers gone, key denials spiking, fsync latency")
import json
dashboard = json.loads(text("grafana/atrest-dashboard.json"))
exprs = [r["expr"] for r in rules] + [t["expr"] for p in dashboard.get("panels", []) for t in p.get("targets", [])]
check(len(dashboard.get("panels", [])) >= 8, "the Grafana dashboard has its panels")
operations = open(os.path.join(here, "..", "docs", "OPERATIONS.md")).read()
documented = set(re.findall(r"`(atrest_[a-z_]+)`", operations))
for metric in sorted({re.sub(r"_(bucket|sum|count)$", "", m) for e in exprs for m in re.findall(r"atrest_[a-z_]+", e)}):
    check(metric in documented, f"monitoring uses {metric}, listed in docs/OPERATIONS.md")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
