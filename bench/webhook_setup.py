"""Server-side parts of bench_webhooks.py: connecting the inbox, the server command, wrk.

- ``connect_inbox``: the channel's inbox in the demo workspace, created through the same
  service the admin "Connect a channel" form uses (the channel's own ``validate`` runs;
  its ``after_save``, which would call the provider, does not).
- ``server_cmd``: ``omniline serve``, one process, jobs on.
- ``run_wrk``: ``wrk -t1 -c32`` posting pre-signed webhooks, each with its own message id.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from _common import PYTHON, omniline_cmd
from webhook_payloads import Channel, sender_of

# Connects the channel's inbox in the demo workspace through the same service the admin
# "Connect a channel" form uses (the channel's validate runs; its after_save, which would
# call the provider, does not). Prints the inbox key and its stored settings as JSON.
SETUP = """
import asyncio, json, sys
from sqlalchemy import delete, select
from omniline import db, wiring
from omniline.autoreplies.models import AutoReplyRule
from omniline.inboxes import service
from omniline.inboxes.channel_types import channel_type
from omniline.workspaces.models import Queue, Workspace

async def main(channel, values):
    wiring.register_channels()
    db.init_engine()
    try:
        async with db.unit_of_work() as session:
            ws = await session.scalar(select(Workspace).where(Workspace.slug == "demo"))
            queue = await session.scalar(
                select(Queue).where(Queue.workspace_id == ws.id, Queue.name == "First line")
            )
            rules = delete(AutoReplyRule).where(AutoReplyRule.workspace_id == ws.id)
            gone = (await session.execute(rules)).rowcount
            inbox = await service.do_create_channel_inbox(
                session, ws.id, channel_type(channel), name=f"Bench {channel}",
                default_queue_id=queue.id, enabled=True, values=values,
            )
            out = {"key": inbox.key, "settings": inbox.settings, "auto_replies_removed": gone}
    finally:
        await db.dispose_engine()
    print(json.dumps(out))

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
"""


def server_cmd(port: int) -> list[str]:
    return omniline_cmd(port)


def connect_inbox(env: dict[str, str], channel: Channel, dead_api: str) -> dict[str, Any]:
    values = {**channel.settings, "api_base": dead_api}
    out = subprocess.run(
        [PYTHON, "-c", SETUP, channel.name, json.dumps(values)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


WRK_LUA = """-- Pre-signed unique webhooks, one per line: header name, value, body (tab-separated).
local reqs = {}
for line in io.lines("%(data)s") do
  local name, value, body = line:match("^([^\\t]*)\\t([^\\t]*)\\t(.*)$")
  reqs[#reqs + 1] = {name, value, body}
end
local i = 0
request = function()
  i = i %% #reqs + 1
  local r = reqs[i]
  local headers = {["Content-Type"] = "application/json"}
  if r[1] ~= "" then headers[r[1]] = r[2] end
  return wrk.format("POST", "%(path)s", headers, r[3])
end
"""


def run_wrk(
    port: int, load_spec: dict[str, Any], tmp: Path, seconds: int, senders: int
) -> dict[str, float]:
    if shutil.which("wrk") is None:
        return {}
    channel: Channel = load_spec["channel"]
    count = seconds * 4000  # more than the server can take: no id repeats
    data = tmp / f"wrk_{channel.name}.tsv"
    with data.open("wb") as out:
        for k in range(count):
            n = load_spec["first_id"] + k
            req = channel.build(load_spec["settings"], n, sender_of(n, senders), f"wrk-{k}")
            name, value = _signature_header(req.headers)
            out.write(b"%s\t%s\t%s\n" % (name, value, req.body))
    script = tmp / f"wrk_{channel.name}.lua"
    script.write_text(WRK_LUA % {"data": data, "path": load_spec["path"]})
    cmd = ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", "-s", str(script)]
    out_text = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}{load_spec['path']}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out_text)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out_text)
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out_text)
    total = re.search(r"(\d+) requests in", out_text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p99": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
        "non2xx": float(bad.group(1)) if bad else 0.0,
        "repeats": max(0.0, float(total.group(1)) - count) if total else 0.0,
    }


def _signature_header(headers: bytes) -> tuple[bytes, bytes]:
    """The one header besides Content-Type a provider sends (secret or signature)."""
    for line in headers.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name and name.lower() != b"content-type":
            return name.strip(), value.strip()
    return b"", b""
