#!/usr/bin/env python3
"""Put a fixed delay in front of every answer of a stdio MCP server, as a
network round trip would: latency_proxy.py MS COMMAND [ARGS...]. Standard
library only; used by the crawl benchmark so servers wait instead of compute."""
import subprocess
import sys
import threading
import time

delay = float(sys.argv[1]) / 1000.0
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def pump_in():
    for line in sys.stdin.buffer:
        child.stdin.write(line)
        child.stdin.flush()
    child.stdin.close()


threading.Thread(target=pump_in, daemon=True).start()
for line in child.stdout:
    time.sleep(delay)
    sys.stdout.buffer.write(line)
    sys.stdout.buffer.flush()
