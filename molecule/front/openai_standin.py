#!/usr/bin/python3
# -*- coding: utf-8 -*-
"""A minimal stand-in for vLLM's OpenAI-compatible server, for the front
scenario's backend (ollama_front_backends, kind vllm). Only what the
scenario asks of it, shaped as vLLM answers (vllm-project/vllm, 2025-2026):

* GET /v1/models: the served model list (vllm/entrypoints/openai/models/
  api_router.py, show_available_models: {"object": "list", "data":
  [{"id", "object": "model", "owned_by": "vllm", ...}]});
* POST /v1/chat/completions: one non-streamed chat completion
  (vllm/entrypoints/openai/chat_completion: ChatCompletionResponse);
* POST /v1/load_lora_adapter: the runtime LoRA route, an admin route of the
  front's policy (vllm/entrypoints/serve/lora/api_router.py: 200 with a
  plain-text "Success: LoRA adapter '<name>' added successfully.");
* anything else: FastAPI's 404 {"detail": "Not Found"}, another method on a
  known path 405 {"detail": "Method Not Allowed"}.

Without --api-key it asks for no credential (vLLM's AuthenticationMiddleware
is only added with a key). Each request is logged to stdout (the journal)
as `standin: METHOD PATH authorization=yes|no`, never a header's value: the
scenario checks that the front never passes a credential on. The lead may
switch this for the lab's faithful stand-in (tests/lab/standin/)."""

import argparse
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "standin/vllm-model"


class Handler(BaseHTTPRequestHandler):
    server_version = "uvicorn"
    sys_version = ""

    def log_message(self, fmt, *args):  # the default goes to stderr with the client address
        return

    def _log(self):
        sys.stdout.write("standin: %s %s authorization=%s\n" % (
            self.command, self.path, "yes" if self.headers.get("Authorization") else "no"))
        sys.stdout.flush()

    def _send(self, code, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 1 << 20)) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def _route(self, method):
        self._log()
        routes = {"/v1/models": "GET", "/v1/chat/completions": "POST", "/v1/load_lora_adapter": "POST"}
        path = self.path.split("?", 1)[0]
        if path not in routes:
            return self._send(404, {"detail": "Not Found"})
        if routes[path] != method:
            return self._send(405, {"detail": "Method Not Allowed"})
        if path == "/v1/models":
            return self._send(200, {"object": "list", "data": [
                {"id": MODEL, "object": "model", "created": int(time.time()), "owned_by": "vllm",
                 "root": MODEL, "parent": None, "max_model_len": 4096}]})
        body = self._body()
        if not isinstance(body, dict):
            return self._send(400, {"object": "error", "message": "invalid JSON body", "type": "BadRequestError",
                                    "code": 400})
        if path == "/v1/chat/completions":
            return self._send(200, {
                "id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()), "model": MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the stand-in."},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 5, "total_tokens": 6}})
        name = body.get("lora_name") or ""
        return self._send(200, ("Success: LoRA adapter '%s' added successfully." % name).encode("utf-8"),
                          "text/plain; charset=utf-8")

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_DELETE(self):
        self._route("DELETE")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="0.0.0.0")  # vLLM's default: every address
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
