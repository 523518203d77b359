# Mininet 2.3 baseline for bench/host-apply.ts: builds `n` hosts on `nets` Linux-bridge switches
# (no controller), as the agent's fragment does, then stops. Run inside the bench's host
# namespace. Prints {"build": seconds, "stop": seconds}.
import json, sys, time
from mininet.net import Mininet
from mininet.node import Host
from mininet.nodelib import LinuxBridge

n, nets, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
net = Mininet(switch=LinuxBridge, controller=None, host=Host, build=False, waitConnected=False)
try:
    t0 = time.time()
    switches = [net.addSwitch('%ss%d' % (prefix, j + 1)) for j in range(nets)]
    for i in range(n):
        h = net.addHost('h%d' % (i + 1), ip='10.%d.%d.%d/16' % (100 + i % nets, (i // nets + 1) >> 8, (i // nets + 1) & 255))
        net.addLink(h, switches[i % nets])
    net.build()
    net.start()
    built = time.time() - t0
finally:
    t1 = time.time()
    net.stop()
    stopped = time.time() - t1
print(json.dumps({"build": built, "stop": stopped}))
