"""Drives Beacon's Consul-compatible API with Debian's python3-consul2 (module `consul`), unchanged, and prints what it saw as JSON.

Usage: consul-python-client.py PORT TOKEN. The token goes as ?token= where python-consul sends it, and as X-Consul-Token on every request.
"""
import json
import sys
import threading

import consul

port, token = int(sys.argv[1]), sys.argv[2]
c = consul.Consul(host="127.0.0.1", port=port, token=token)
# The client sends ?token= on the calls that take a token argument only: give its HTTP session the header for
# the others, as a deployment with a default token would.
c.http.session.headers["X-Consul-Token"] = token
seen = {}

c.agent.service.register("web", service_id="web-py", address="127.0.0.1", port=8091, tags=["py"], check=consul.Check.ttl("30s"))
seen["agent_services"] = sorted(c.agent.services().keys())
c.agent.check.ttl_pass("service:web-py", notes="ready")
index, entries = c.health.service("web", passing=True)
seen["passing"] = [e["Service"]["ID"] for e in entries]
seen["index"] = int(index)

# A blocking query parked on the index just read, woken by a registration from another thread.
blocked = {}


def block():
    blocked["index"], blocked["entries"] = c.health.service("web", index=index, wait="20s")


thread = threading.Thread(target=block)
thread.start()
c.agent.service.register("web", service_id="web-py2", address="127.0.0.1", port=8092)
thread.join(30)
seen["blocked_index"] = int(blocked["index"])
seen["blocked_ids"] = sorted(e["Service"]["ID"] for e in blocked["entries"])

_, catalog = c.catalog.services()
seen["catalog"] = catalog
seen["leader"] = c.status.leader()
c.agent.service.deregister("web-py")
c.agent.service.deregister("web-py2")
_, seen["catalog_after"] = c.catalog.services()
print(json.dumps(seen))
