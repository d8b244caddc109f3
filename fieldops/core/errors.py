"""Refusals of the floor's use cases: what a store or a service answers when an action cannot
be done as asked. ``status`` is the HTTP status the web layer answers with. Pure."""

from __future__ import annotations


class StoreError(Exception):
    """A refused action; ``status`` is the HTTP status the web layer answers with."""

    status = 400

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(StoreError):
    status = 404


class Conflict(StoreError):
    status = 409


class Forbidden(StoreError):
    status = 403


class Refused(StoreError):
    """The evidence does not confirm the step (wrong cable, missing scan)."""

    status = 422


class Invalid(StoreError):
    status = 400
