"""Routers whose requests are one unit of work: commit after the endpoint, before answering."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from omniline.db import commit, rollback


class UnitOfWorkRoute(APIRoute):
    """The one place where an HTTP request's database session commits.

    The endpoint and services only ``flush()``; here the transaction commits
    before the response goes out (nothing a customer sent is acknowledged
    uncommitted) and after-commit hooks run. Any error rolls back.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
                session = request.state._state.get("db")
                if session is not None:
                    await commit(session)
                return response
            except BaseException:
                session = request.state._state.get("db")
                if session is not None:
                    await rollback(session)
                raise
            finally:
                session = request.state._state.pop("db", None)
                if session is not None:
                    await session.close()

        return run


def router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=UnitOfWorkRoute, **kwargs)
