"""Routes: maps."""

from fastapi import APIRouter

router = APIRouter()
