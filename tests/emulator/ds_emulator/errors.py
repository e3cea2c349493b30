"""The Directory Service errors the extensions raise: each a shape of botocore's ``ds`` model,
raised only by operations whose model lists it (test_conformance.py checks both).

moto serialises them as the JSON protocol does: HTTP 400, ``__type`` the shape's name."""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class EntityDoesNotExistException(ServiceException):
    code = "EntityDoesNotExistException"


class InvalidParameterException(ServiceException):
    code = "InvalidParameterException"


class InvalidNextTokenException(ServiceException):
    code = "InvalidNextTokenException"
    message = "Invalid value passed for the NextToken parameter"


class SnapshotLimitExceededException(ServiceException):
    code = "SnapshotLimitExceededException"


class TagLimitExceededException(ServiceException):
    code = "TagLimitExceededException"


class ClientException(ServiceException):
    code = "ClientException"
