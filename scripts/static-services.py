#!/usr/bin/env python3
"""Writes a static.json of 200 services checked by HttpGet on one target (the benchmarks').

Usage: static-services.py PATH TARGET_HOST:PORT [PORT_IP]   (PORT_IP defaults to 127.0.0.1)
"""
import json
import sys

path, target = sys.argv[1], sys.argv[2]
ip = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
port = int(target.split(":")[1])
json.dump([{"Service": {"Name": f"svc-{i:03d}", "Image": f"example/svc-{i:03d}:1.0",
            "Ports": [{"Type": "tcp", "Port": port, "ServicePort": 20000 + i, "IP": ip}],
            "ProxyMode": "http"},
            "Check": {"Type": "HttpGet", "Args": f"http://{target}/"}} for i in range(200)],
          open(path, "w"))
