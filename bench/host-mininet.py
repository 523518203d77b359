# Mininet 2.3 baseline of the benchmarks (bench/lib/mininet.ts): builds the hosts and Linux-bridge
# switches (no controller) of a topology file, then stops. Run inside a namespace the benchmark
# made. The file: {"switches": [name, ...], "hosts": [{"name": h, "links": [{"switch": s,
# "ip": "a.b.c.d/p"}, ...]}, ...]}; host h's k-th link is its interface h-eth<k>.
# Prints {"build": seconds, "stop": seconds}.
import json, sys, time
from mininet.net import Mininet
from mininet.node import Host
from mininet.nodelib import LinuxBridge

with open(sys.argv[1]) as f:
    topo = json.load(f)
net = Mininet(switch=LinuxBridge, controller=None, host=Host, build=False, waitConnected=False)
built = None
try:
    t0 = time.time()
    switches = {s: net.addSwitch(s) for s in topo['switches']}
    for h in topo['hosts']:
        links = h['links']
        # ip= is what Mininet gives the host's first interface when it configures the hosts.
        node = net.addHost(h['name'], ip=links[0]['ip'] if links else None)
        for l in links:
            net.addLink(node, switches[l['switch']], params1={'ip': l['ip']})
    net.build()
    net.start()
    built = time.time() - t0
finally:
    t1 = time.time()
    net.stop()
    stopped = time.time() - t1
print(json.dumps({"build": built, "stop": stopped}))
