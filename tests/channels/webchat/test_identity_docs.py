"""The signing code in docs/widget.md works as printed: an integrator who copies it gets a
customer Omniline accepts, and the documented check value is right."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from omniline.auth.tokens import identity_signature
from tests.conftest import Demo

DOC = Path(__file__).resolve().parents[3] / "docs" / "widget.md"


def _section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"### {title}")
    end = text.index("\n### ", start + 1)
    return text[start:end]


def _block(section: str, language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert found, f"no {language} example in docs/widget.md"
    return found.group(1)


def test_the_documented_check_value_is_what_omniline_computes() -> None:
    section = _section("Computing the signature")
    blocks = re.findall(r"```text\n(.*?)```", section, re.S)
    text, expected = blocks[0].rstrip("\n"), blocks[1].strip()
    secret = re.search(r"with the secret `([^`]+)`", section)
    assert secret is not None
    fields = dict(line.split("=", 1) for line in text.splitlines()[1:])
    expires = int(fields.pop("expires"))
    assert identity_signature(secret.group(1), fields, expires) == expected


async def _accepted(client: httpx.AsyncClient, demo: Demo, identity: dict[str, Any]) -> None:
    r = await client.post(
        "/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key, "identity": identity}
    )
    assert r.status_code == 201, r.text
    assert r.json()["verified"] is True


async def test_the_python_example_signs_an_identity_omniline_accepts(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    namespace: dict[str, Any] = {}
    exec(_block(_section("Computing the signature"), "python"), namespace)
    identity = namespace["omniline_identity"](
        demo.identity_secret, "client-42", name="Олена Коваленко", email="olena@example.com"
    )
    await _accepted(client, demo, identity)


async def test_the_node_example_signs_an_identity_omniline_accepts(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed on this machine")
    code = _block(_section("Computing the signature"), "js")
    call = (
        f"\nconsole.log(JSON.stringify(omnilineIdentity({json.dumps(demo.identity_secret)}, "
        '{external_id: "client-42", name: "Олена Коваленко", phone: "+380501234567"})));\n'
    )
    out = subprocess.run(
        [node, "-e", code + call], capture_output=True, text=True, timeout=30, check=True
    )
    await _accepted(client, demo, json.loads(out.stdout))
