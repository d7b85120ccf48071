#!/usr/bin/python3
"""A test stand-in for ComfyUI's server (``python3 /opt/ComfyUI/main.py``;
the lab installs this file there). NOT production code. Followed upstream
(comfyanonymous/ComfyUI):

* comfy/cli_args.py: ``--listen`` (default 127.0.0.1; given without a value:
  "0.0.0.0,::"), ``--port`` (8188); no credentials of any kind;
* main.py / server.py: one aiohttp ``TCPSite`` per address of the
  comma-separated --listen (an IPv6 one is IPv6-only, asyncio's default);
  every route is served both bare and under ``/api``: ``/system_stats``
  ({"system": {os, ram_total, ram_free, comfyui_version, python_version,
  pytorch_version, embedded_python, argv}, "devices": [...]}), ``/models``
  (model folder names), ``/models/{folder}`` (file names), ``/object_info``,
  ``/prompt``; ``GET /`` the frontend's index.html (``<title>ComfyUI</title>``).
Nothing is generated: POST /prompt queues nothing and answers a prompt id.
"""
import os
import platform
import sys
import uuid

for _p in (os.path.dirname(os.path.realpath(__file__)), "/usr/local/lib/odr-standin"):
    sys.path.insert(0, _p)
from odr_standin import Handler, flag, port_arg, serve  # noqa: E402

VERSION = "0.3.60"
FOLDERS = {"checkpoints": ["sd_xl_base_1.0.safetensors"], "loras": [], "vae": ["sdxl_vae.safetensors"]}
INDEX = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"UTF-8\"><title>ComfyUI</title></head>"
         "<body class=\"litegraph grid\"><div id=\"vue-app\"></div></body></html>")


class ComfyUI(Handler):
    kind = "comfyui"
    server_version = "Python/3.11 aiohttp/3.11.18"

    def bare(self):
        route = self.route
        return route[4:] if route.startswith("/api/") else route

    def do_GET(self):
        route = self.bare()
        if route in ("/", "/index.html") and not self.route.startswith("/api"):
            self.send(200, INDEX, ctype="text/html")
        elif route == "/system_stats":
            self.send(200, {"system": {"os": os.name, "ram_total": 8 << 30, "ram_free": 6 << 30,
                                       "comfyui_version": VERSION, "required_frontend_version": "1.26.13",
                                       "python_version": sys.version, "pytorch_version": "2.8.0+cpu",
                                       "embedded_python": False, "argv": self.state["argv"]},
                            "devices": [{"name": "cpu", "type": "cpu", "index": None, "vram_total": 8 << 30,
                                         "vram_free": 6 << 30, "torch_vram_total": 8 << 30,
                                         "torch_vram_free": 6 << 30}]})
        elif route == "/models":
            self.send(200, sorted(FOLDERS))
        elif route.startswith("/models/") and route[8:] in FOLDERS:
            self.send(200, FOLDERS[route[8:]])
        elif route == "/object_info":
            self.send(200, {"CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [FOLDERS["checkpoints"]]}},
                                                       "output": ["MODEL", "CLIP", "VAE"], "category": "loaders"}})
        elif route in ("/prompt", "/queue"):
            self.send(200, {"exec_info": {"queue_remaining": 0}} if route == "/prompt"
                      else {"queue_running": [], "queue_pending": []})
        else:
            self.send(404, "404: Not Found", ctype="text/plain; charset=utf-8")

    def do_POST(self):
        self.body()
        if self.bare() == "/prompt":
            self.send(200, {"prompt_id": str(uuid.uuid4()), "number": 0, "node_errors": {}})
        else:
            self.send(405, "405: Method Not Allowed", ctype="text/plain; charset=utf-8")


def main(argv):
    listen = flag(argv, ["--listen"], default="127.0.0.1", const="0.0.0.0,::")
    port = port_arg(flag(argv, ["--port"]) or "8188", "--port")
    binds = []
    for addr in [a.strip() for a in listen.split(",") if a.strip()]:
        binds.append((addr, port, True if ":" in addr else None))
    sys.stderr.write("Python version: %s\nComfyUI version: %s\n" % (platform.python_version(), VERSION))
    for addr in [b[0] for b in binds]:
        sys.stderr.write("To see the GUI go to: http://%s:%d\n" % ("[%s]" % addr if ":" in addr else addr, port))
    serve("comfyui", ComfyUI, binds, {"argv": ["main.py"] + argv})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
